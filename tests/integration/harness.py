"""Running a runtime in a background thread for a test, and reading topics back."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from consumers.runtime import kafka
from tests.helpers import wait_until


@contextmanager
def running(runtime: Any) -> Iterator[Any]:
    stop = threading.Event()
    errors: list[BaseException] = []

    def target() -> None:
        try:
            runtime.run(stop)
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield runtime
    finally:
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "runtime did not stop within 60s"
        assert not errors, f"runtime crashed: {errors[0]!r}"


@contextmanager
def from_the_start(bootstrap: str, topic: str) -> Iterator[Consumer]:
    """A consumer assigned every partition of `topic` from its first record (a group of its
    own, nothing committed); closed afterwards."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        yield consumer
    finally:
        consumer.close()


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[Any]:
    """Reads `topic` from the beginning until `expected` records arrived (or fails)."""
    got: list[Any] = []
    with from_the_start(bootstrap, topic) as consumer:

        def enough() -> bool:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                got.append(msg)
            return len(got) >= expected

        wait_until(enough, timeout=timeout, interval=0, message=f"{expected} records on {topic}")
    return got


def produce(bootstrap: str, topic: str, records: list[tuple[Any, bytes | None]]) -> None:
    producer = kafka.producer(bootstrap)
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0, "broker did not acknowledge the test records"
