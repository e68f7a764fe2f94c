"""`KafkaPublisher` on the real broker: a call returns once its own records are acknowledged."""

from __future__ import annotations

import threading
import uuid

import pytest

from publishing import KafkaPublisher, PublishFailed, Record
from sequence_qbo.settings import Topics
from tests.helpers import wait_until
from tests.integration.harness import read_all

pytestmark = pytest.mark.integration


def test_published_records_are_on_the_topic_with_key_and_headers(
    kafka_bootstrap: str, topics: Topics
) -> None:
    records = [
        Record(topics.invoice_paid, f"k{i}", f"v{i}".encode(), (("h", b"x"),)) for i in range(3)
    ]
    with KafkaPublisher(kafka_bootstrap) as publisher:
        publisher.publish(records, timeout=30)
    got = read_all(kafka_bootstrap, topics.invoice_paid, 3)
    assert sorted((m.key(), m.value(), m.headers()) for m in got) == [
        (f"k{i}".encode(), f"v{i}".encode(), [("h", b"x")]) for i in range(3)
    ]


def test_a_call_does_not_wait_for_another_callers_records(
    kafka_bootstrap: str, topics: Topics
) -> None:
    """A record for a topic that does not exist (auto-creation is off) stays unacknowledged;
    a shared `flush()` would hold every other caller until it times out."""
    publisher = KafkaPublisher(kafka_bootstrap, **{"message.timeout.ms": 4000})
    stuck = Record(f"missing-{uuid.uuid4().hex}", "k", b"v")
    outcome: list[BaseException] = []

    def slow_caller() -> None:
        try:
            publisher.publish([stuck], timeout=4)
        except PublishFailed as exc:
            outcome.append(exc)

    slow = threading.Thread(target=slow_caller)
    slow.start()
    try:
        wait_until(lambda: len(publisher._producer) > 0, message="the stuck record queued")
        publisher.publish([Record(topics.invoice_paid, "k", b"v")], timeout=4)
        assert slow.is_alive(), "the fast call returned only once the slow one was done"
    finally:
        slow.join(10)
        publisher.close(timeout=0)
    assert outcome and isinstance(outcome[0], PublishFailed)
