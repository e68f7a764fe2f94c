"""Ordering per key under random handler latencies, with many keys in flight at once."""

from __future__ import annotations

import pytest

from tests.helpers import wait_until
from tests.integration.harness import produce, running
from tests.integration.runtime.support import TestHandler, random_latency, records, runtime

pytestmark = pytest.mark.integration


def test_per_key_order_holds_across_1000_keys(settings) -> None:
    topic = settings.topics.customer_updated
    produce(settings.kafka_bootstrap, topic, records(n_keys=1000, per_key=5, accounts=50))
    handler = TestHandler(latency=random_latency(0.0, 0.01))
    rt = runtime(
        settings.kafka_bootstrap,
        topic,
        settings.consumer_group,
        settings.topics.dlq,
        handler,
        max_in_flight=64,
    )
    with running(rt):
        wait_until(lambda: rt.processed >= 5000, timeout=90, message="5000 messages")
    assert handler.peak > 10, "keys did not run concurrently"
    assert len(handler.seen) == 1000
    out_of_order = {k: s for k, s in handler.seen.items() if s != [0, 1, 2, 3, 4]}
    assert not out_of_order, (
        f"{len(out_of_order)} keys out of order, e.g. {next(iter(out_of_order.items()))}"
    )
