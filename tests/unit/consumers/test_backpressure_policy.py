"""Backpressure counts the messages parked behind retries on their own, so one realm's outage
being waited out does not stop the fetching of every other realm's messages."""

from __future__ import annotations

import pytest

from consumers.runtime.concurrent import RuntimeOptions, backpressure
from consumers.runtime.scheduler import KeyScheduler

OPTIONS = RuntimeOptions(max_buffered=100, max_parked=1000)


@pytest.mark.parametrize(
    ("buffered", "parked", "paused", "expected"),
    [
        (99, 0, False, None),
        (100, 0, False, "pause"),  # busy: as before
        (900, 850, False, None),  # mostly parked behind an outage: keep fetching
        (1100, 1050, False, "pause"),  # the parked ones reached their own limit
        (50, 0, True, "resume"),
        (60, 0, True, None),
        (800, 780, True, "resume"),  # what is left active is little: fetch again
        (1060, 1040, True, None),  # still too many held in memory
    ],
)
def test_pause_and_resume(buffered: int, parked: int, paused: bool, expected: str | None) -> None:
    assert backpressure(buffered, parked, paused=paused, options=OPTIONS) == expected


def test_parked_counts_what_waits_on_a_key_retry_or_a_held_group() -> None:
    s: KeyScheduler[str] = KeyScheduler(max_in_flight=10, group_limit=10)
    for key, group, n in [("k1", "down", 3), ("k2", "down", 2), ("k3", "up", 4)]:
        for i in range(n):
            s.add(key, group, f"{key}-{i}")
    started = s.start(now=0.0)
    assert sorted(started) == ["k1-0", "k2-0", "k3-0"]
    s.defer("k1", until=10.0)  # k1's head waits for its retry: its 3 messages are parked
    assert s.parked(now=1.0) == 3
    s.finish("k2")
    s.hold_group("down", until=10.0)  # the realm is held: k2's last message waits too
    assert s.parked(now=1.0) == 4
    assert s.parked(now=11.0) == 3  # the hold is over (k1 is due, not yet released)
    assert s.queued == 3 + 1 + 4  # k3's messages are active, not parked
