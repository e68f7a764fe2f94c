"""A realm's backlog is held in memory up to its own bound: the partitions its messages come
from pause while it is full and resume when it drains; nothing is lost or repeated, and a
realm whose queue is not full is not paused for it."""

from __future__ import annotations

import pytest

from consumers.runtime.concurrent import RuntimeOptions
from consumers.runtime.realm_holds import RealmHolds
from tests.helpers import wait_until
from tests.integration.harness import produce, running
from tests.integration.runtime.support import TestHandler, records, runtime

pytestmark = pytest.mark.integration

LIMIT, BATCH = 100, 20


def test_a_busy_realm_is_held_to_its_bound_and_everything_is_processed(settings) -> None:
    topic = settings.topics.customer_updated
    produce(settings.kafka_bootstrap, topic, records(n_keys=200, per_key=4, accounts=1))
    handler = TestHandler(latency=lambda _v: 0.005)
    rt = runtime(
        settings.kafka_bootstrap,
        topic,
        settings.consumer_group,
        settings.topics.dlq,
        handler,
        max_in_flight=4,
    )
    # The global bound far above the realm's: only the realm's bound can pause.
    rt.options = RuntimeOptions(
        engine=rt.options.engine, max_buffered=100_000, max_per_realm=LIMIT, batch=BATCH
    )
    rt.holds = RealmHolds(LIMIT)
    peak = 0

    def sample() -> bool:
        nonlocal peak
        peak = max(peak, rt.engine.queued_in("acct_0"))
        return rt.processed >= 800

    with running(rt):
        wait_until(sample, timeout=120, interval=0.002, message="800 messages")
    # A partition pauses at its first message past the bound: each of the 3 may bring at most
    # one fetch batch on top of it.
    assert LIMIT <= peak <= LIMIT + 3 * BATCH, peak
    assert rt.metrics.registry.get_sample_value("sequence_qbo_backpressure_pauses_total") >= 1
    assert rt.processed == 800
    assert sorted(handler.seen) == sorted(f"k{k}" for k in range(200))
    assert all(seqs == list(range(4)) for seqs in handler.seen.values())  # order kept per key
