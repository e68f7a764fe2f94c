"""Memory stays bounded: with a slow handler the runtime pauses its partitions when its buffer
is full, keeps polling, resumes when drained, and loses or repeats nothing on the way."""

from __future__ import annotations

import pytest

from consumers.runtime.concurrent import RuntimeOptions
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
    topic = settings.topics.customer_updated
    # 300 messages of a realm whose first answer is "wait 60 s" (a 429 for the realm), then
    # 300 of a healthy realm behind them in every partition.
    down = records(n_keys=100, per_key=3, accounts=1, prefix="down", throttle=1, throttle_after=60)
    up = [
        (f"up-{key}", value.replace(b'"acct_0"', b'"acct_up"'))
        for key, value in records(n_keys=100, per_key=3, accounts=1, prefix="up")
    ]
    produce(settings.kafka_bootstrap, topic, down + up)
    handler = TestHandler()
    rt = runtime(
        settings.kafka_bootstrap, topic, settings.consumer_group, settings.topics.dlq, handler
    )
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
