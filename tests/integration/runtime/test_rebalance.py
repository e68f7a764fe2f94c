"""A second consumer joins mid-stream (cooperative rebalance): every message is processed at
least once and every effect is applied exactly once (recorded idempotently in PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.helpers import wait_until
from tests.integration.harness import produce, running
from tests.integration.runtime.support import (
    TestHandler,
    create_tables,
    deliveries,
    effects,
    random_latency,
    records,
    runtime,
)

pytestmark = pytest.mark.integration

N_KEYS, PER_KEY = 200, 15


def test_a_consumer_joining_mid_stream_loses_and_duplicates_nothing(settings, db_url) -> None:
    create_tables(db_url)
    topic = settings.topics.customer_updated
    produce(settings.kafka_bootstrap, topic, records(N_KEYS, PER_KEY))
    total = N_KEYS * PER_KEY
    first, second = (
        TestHandler(db_url, latency=random_latency(0.015, 0.035, seed=s)) for s in (1, 2)
    )
    a = runtime(
        settings.kafka_bootstrap,
        topic,
        settings.consumer_group,
        settings.topics.dlq,
        first,
        max_in_flight=8,
    )
    b = runtime(
        settings.kafka_bootstrap,
        topic,
        settings.consumer_group,
        settings.topics.dlq,
        second,
        max_in_flight=8,
    )
    try:
        with running(a):
            wait_until(lambda: a.processed >= total // 5, timeout=60, message="a fifth done")
            with running(b):
                wait_until(
                    lambda: len(effects(db_url)) == total,
                    timeout=120,
                    interval=0.2,
                    message="every effect",
                )
                assert b.processed > 0, "the second consumer got no partition"
    finally:
        first.close()
        second.close()
    applied = effects(db_url)
    assert set(applied) == {f"m-{k}-{s}" for k in range(N_KEYS) for s in range(PER_KEY)}
    assert set(applied.values()) == {1}  # exactly once
    assert sum(deliveries(db_url).values()) >= total  # at least once (replays are no-ops)
