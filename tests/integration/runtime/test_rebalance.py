"""A second consumer joins mid-stream (cooperative rebalance). Counted in the append-only
delivery log (no unique key, so a message handled twice is two rows): every message is handled,
no consumer handles one twice, and each partition the newcomer takes over starts exactly at the
old owner's lowest unfinished offset there (its committed position). So the only messages handled
twice are those the old owner had finished out of order above that offset: the at-least-once
window of per-key concurrency, which the handlers' idempotency absorbs."""

from __future__ import annotations

from collections import Counter
from itertools import count

import pytest

from tests.helpers import wait_until
from tests.integration.harness import produce, running
from tests.integration.runtime.support import (
    TestHandler,
    create_tables,
    delivery_log,
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
        TestHandler(db_url, latency=random_latency(0.015, 0.035, seed=s), worker=name)
        for s, name in ((1, "a"), (2, "b"))
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
    log = delivery_log(db_url)
    handled = Counter(mid for mid, _worker, _part, _off in log)
    assert set(handled) == {f"m-{k}-{s}" for k in range(N_KEYS) for s in range(PER_KEY)}
    by_worker = Counter((mid, worker) for mid, worker, _part, _off in log)
    assert max(by_worker.values()) == 1, "a consumer handled a message twice"
    assert {worker for _mid, worker, _part, _off in log} == {"a", "b"}
    assert _handover_gaps(log) == {}, "the newcomer did not start where the old owner stopped"


def _handover_gaps(log: list[tuple[str, str, int, int]]) -> dict[int, tuple[int, int]]:
    """Partition → (old owner's lowest unfinished offset, newcomer's first offset) wherever they
    differ. Lower means committed work was redone (a stale commit), higher that work was skipped.
    The log is in handling order: what "a" finished before "b"'s first row on a partition is
    what "a" had done when it handed the partition over."""
    first_b = {}
    for index, (_mid, worker, part, _off) in enumerate(log):
        if worker == "b":
            first_b.setdefault(part, index)
    gaps = {}
    for part, index in first_b.items():
        done = {off for _m, worker, p, off in log[:index] if worker == "a" and p == part}
        lowest_open = next(o for o in count() if o not in done)
        start = min(off for _m, worker, p, off in log if worker == "b" and p == part)
        if start != lowest_open:
            gaps[part] = (lowest_open, start)
    return gaps
