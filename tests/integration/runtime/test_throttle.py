"""A throttled group (an account whose realm answers 429, and whose calls are slow) is held
back on its own: another group's messages flow at full speed meanwhile."""

from __future__ import annotations

import json
import time

import pytest

from tests.helpers import wait_until
from tests.integration.harness import produce, running
from tests.integration.runtime.support import TestHandler, runtime

pytestmark = pytest.mark.integration


def _record(i: int, account: str, **extra: object) -> tuple[str, bytes]:
    key = f"{account}-k{i}"
    value = {"id": f"{account}-{i}", "account_id": account, "key": key, "seq": 0, **extra}
    return key, json.dumps(value).encode()


def test_a_throttled_group_does_not_slow_another_group(settings) -> None:
    topic = settings.topics.customer_updated
    slow = [_record(i, "throttled", throttle=1, throttle_after=1.0) for i in range(20)]
    fast = [_record(i, "healthy") for i in range(300)]
    # The throttled account's records come first in every partition.
    produce(settings.kafka_bootstrap, topic, slow + fast)
    handler = TestHandler(latency=lambda v: 1.0 if v["account_id"] == "throttled" else 0.01)
    rt = runtime(
        settings.kafka_bootstrap,
        topic,
        settings.consumer_group,
        settings.topics.dlq,
        handler,
        max_in_flight=32,
        group_limit=10,
        backoff_base=0.2,
    )
    with running(rt):
        started = time.monotonic()
        wait_until(
            lambda: sum(i.startswith("healthy") for i in handler.done_at) == 300,
            timeout=30,
            message="the healthy account's messages",
        )
        healthy_took = time.monotonic() - started
        throttled_done = sum(i.startswith("throttled") for i in handler.done_at)
        wait_until(lambda: len(handler.done_at) == 320, timeout=60, message="everything")
    # 20 throttled messages: a 429 each asking the realm to wait 1 s, then 1 s calls at most
    # 10 at a time: 4 s at least. The healthy account (300 calls of 10 ms) waits for none of it.
    assert throttled_done < 20
    assert healthy_took < 3.0, f"the healthy account took {healthy_took:.1f}s"
    assert handler.peak <= 32
    assert handler.group_peak["throttled"] == 10  # the group's bound, reached, not exceeded
    throttled_attempts = [n for i, n in handler.attempts.items() if i.startswith("throttled")]
    assert len(throttled_attempts) == 20
    assert all(n == 2 for n in throttled_attempts)
