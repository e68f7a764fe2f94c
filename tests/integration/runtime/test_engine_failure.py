"""An error of the engine itself (not of a handler: those are retried) stops the run loudly:
`run` raises, the message it failed on stays uncommitted, and a restart processes it."""

from __future__ import annotations

import json
import threading

import pytest
from confluent_kafka import Consumer, TopicPartition

from consumers.runtime import kafka
from consumers.runtime.engine import EngineFailed, Work
from consumers.runtime.types import Outcome
from tests.helpers import wait_until
from tests.integration.harness import running
from tests.integration.runtime.support import TestHandler, runtime

pytestmark = pytest.mark.integration


def _committed(settings, topic: str) -> int:
    c = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": settings.consumer_group}
    )
    try:
        (tp,) = c.committed([TopicPartition(topic, 0)], timeout=10)
        return tp.offset
    finally:
        c.close()


def test_an_engine_error_stops_the_run_and_the_message_is_read_again(settings) -> None:
    topic = settings.topics.customer_updated
    values = [{"id": f"m{i}", "account_id": "a", "key": f"k{i}", "seq": 0} for i in range(5)]
    # One partition, so the committed position says exactly what was skipped (nothing).
    producer = kafka.producer(settings.kafka_bootstrap)
    for v in values:
        producer.produce(topic, key=v["key"], value=json.dumps(v).encode(), partition=0)
    assert producer.flush(30) == 0
    first = TestHandler()
    rt = runtime(
        settings.kafka_bootstrap, topic, settings.consumer_group, settings.topics.dlq, first
    )
    settle = rt.engine._settle

    def broken(work: Work, outcome: Outcome) -> None:
        if work.event is not None and work.event.value["id"] == "m2":
            raise RuntimeError("a bug in the engine")
        settle(work, outcome)

    rt.engine._settle = broken  # type: ignore[method-assign]
    failure: list[BaseException] = []

    def target() -> None:
        try:
            rt.run(threading.Event())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the run went on after the engine failed"
    assert isinstance(failure[0], EngineFailed) and "a bug in the engine" in str(failure[0])
    assert _committed(settings, topic) <= 2  # never past the message it failed on

    second = TestHandler()
    rt = runtime(
        settings.kafka_bootstrap, topic, settings.consumer_group, settings.topics.dlq, second
    )
    with running(rt):
        wait_until(lambda: "m2" in second.done_at, message="m2 processed after the restart")
