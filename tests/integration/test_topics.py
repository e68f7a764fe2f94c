"""`topics create` (sequence_qbo.topics.ensure_topics) returns once the new topics can be read:
every partition has a leader, so reading their offsets at once is never refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from sequence_qbo.topics import ensure_topics

pytestmark = pytest.mark.integration


@pytest.fixture
def names(kafka_bootstrap: str) -> Iterator[list[str]]:
    made = [f"t{uuid.uuid4().hex[:10]}.fresh{n}" for n in range(6)]
    yield made
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.delete_topics(made, operation_timeout=30).values():
        future.result(30)


def test_new_topics_are_readable_as_soon_as_they_are_created(
    kafka_bootstrap: str, names: list[str]
) -> None:
    assert ensure_topics(kafka_bootstrap, names, partitions=6) == dict.fromkeys(names, "created")
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": uuid.uuid4().hex})
    try:
        ends = [
            consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)
            for name in names
            for p in range(6)
        ]
    finally:
        consumer.close()
    assert ends == [(0, 0)] * 36
    assert ensure_topics(kafka_bootstrap, names, partitions=6) == dict.fromkeys(names, "exists")
