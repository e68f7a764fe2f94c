"""Memory stays bounded: with a slow handler the runtime pauses its partitions when its buffer
is full, keeps polling, resumes when drained, and loses or repeats nothing on the way."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, TopicPartition

from consumers.runtime.concurrent import ConcurrentRuntime, RuntimeOptions
from tests.helpers import wait_until
from tests.integration.harness import produce, running
from tests.integration.runtime.support import TestHandler, records, runtime

pytestmark = pytest.mark.integration


def test_the_buffer_is_bounded_by_pausing_partitions(settings) -> None:
    topic = settings.topics.customer_updated
    produce(settings.kafka_bootstrap, topic, records(n_keys=100, per_key=6))
    handler = TestHandler(latency=lambda _v: 0.002)
    rt = runtime(
        settings.kafka_bootstrap,
        topic,
        settings.consumer_group,
        settings.topics.dlq,
        handler,
        max_in_flight=8,
    )
    rt.options = RuntimeOptions(engine=rt.options.engine, max_buffered=200, batch=50)
    peak = 0

    def sample() -> bool:
        nonlocal peak
        peak = max(peak, rt.engine.buffered)
        return rt.processed >= 600

    with running(rt):
        wait_until(sample, timeout=90, interval=0.005, message="600 messages")
    # The last poll before the pause may bring one more batch on top of the limit.
    assert 0 < peak <= 200 + 50, peak
    # The limit was reached, so the partitions were paused at least once.
    assert rt.metrics.registry.get_sample_value("sequence_qbo_backpressure_pauses_total") >= 1
    assert rt.processed == 600
    assert all(seqs == list(range(6)) for seqs in handler.seen.values())


def test_a_realm_waiting_out_an_outage_does_not_stop_the_others_from_being_fetched(
    settings,
) -> None:
    # 300 messages of a realm whose first answer is "wait 60 s" (a 429 for the realm), then
    # 300 of a healthy realm behind them in every partition.
    rt, handler = _waiting_realm_then_a_healthy_one(settings, (100, 3, 60.0), (100, 3))
    # A buffer far smaller than the outage's backlog, fetched in small batches.
    rt.options = RuntimeOptions(engine=rt.options.engine, max_buffered=50, batch=20)
    with running(rt):
        wait_until(
            lambda: sum(i.startswith("up-") for i in handler.done_at) == 300,
            timeout=30,
            message="the healthy realm's messages, fetched past the parked ones",
        )
        assert not any(i.startswith("down-") for i in handler.done_at)  # still waiting it out
        assert rt.engine.parked >= 250


def test_a_partition_stuck_behind_a_waiting_message_is_fetched_no_further_than_a_bound(
    settings,
) -> None:
    """Kafka keeps one position per partition, so every message done behind a waiting head
    stays tracked until the head is done: fetching on would grow the tracker without limit."""
    topic = settings.topics.customer_updated
    # A realm waiting out 4 s at the head of every partition (30 keys reach all 3), then 600
    # messages of a healthy realm behind it.
    rt, handler = _waiting_realm_then_a_healthy_one(settings, (30, 1, 4.0), (150, 4))
    rt.options = RuntimeOptions(engine=rt.options.engine, max_tracked=40, batch=10)
    peak = 0

    def sample() -> bool:
        nonlocal peak
        with rt.engine.cond:
            tracked = [t.in_progress for t in rt.trackers.values()]
        peak = max(peak, *tracked, 0)
        return len(handler.done_at) == 630

    with running(rt):
        wait_until(sample, timeout=60, interval=0.005, message="all 630 messages done")
        wait_until(lambda: _committed(settings, topic) == 630, timeout=15, message="630 committed")
    # One more fetched batch may land on top of the bound before the pause.
    assert 40 <= peak <= 40 + 10, peak
    first_down = min(t for i, t in handler.done_at.items() if i.startswith("down-"))
    ahead = sum(i.startswith("up-") and t < first_down for i, t in handler.done_at.items())
    assert ahead <= 3 * (40 + 10), ahead  # held back while the heads waited
    ups = {k: seqs for k, seqs in handler.seen.items() if k.startswith("up-")}
    assert len(ups) == 150 and all(seqs == [0, 1, 2, 3] for seqs in ups.values())


def _waiting_realm_then_a_healthy_one(
    settings, down: tuple[int, int, float], up: tuple[int, int]
) -> tuple[ConcurrentRuntime, TestHandler]:
    """Produces `down` = (keys, per key, seconds) messages of a realm whose first answer is
    "wait that long" (a 429 for the realm), then `up` = (keys, per key) of a healthy realm
    (ids and keys "up-…"); a runtime and its handler to consume them."""
    topic = settings.topics.customer_updated
    keys, per_key, wait = down
    waiting = records(keys, per_key, accounts=1, prefix="down", throttle=1, throttle_after=wait)
    healthy = [
        (
            f"up-{key}",
            value.replace(b'"acct_0"', b'"acct_up"').replace(b'"key": "k', b'"key": "up-k'),
        )
        for key, value in records(*up, accounts=1, prefix="up")
    ]
    produce(settings.kafka_bootstrap, topic, waiting + healthy)
    handler = TestHandler()
    rt = runtime(
        settings.kafka_bootstrap, topic, settings.consumer_group, settings.topics.dlq, handler
    )
    return rt, handler


def _committed(settings, topic: str) -> int:
    """The group's committed positions on `topic`, summed (every message before them done)."""
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": settings.consumer_group}
    )
    try:
        parts = [TopicPartition(topic, p) for p in range(3)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=10))
    finally:
        consumer.close()
