"""Concurrent misses on one realm's Preferences load them once (one QBO call, not N)."""

from __future__ import annotations

import threading

from qbo.cache import CompanyCache


def test_concurrent_misses_load_once() -> None:
    cache = CompanyCache()
    calls: list[int] = []
    gate = threading.Event()

    def load() -> dict:
        calls.append(1)
        gate.wait(5)  # hold the first load until every thread has missed
        return {"HomeCurrency": "GBP"}

    results: list[dict] = []
    started = threading.Barrier(9)

    def worker() -> None:
        started.wait(5)
        results.append(cache.get("r1", "Preferences", load))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    started.wait(5)
    # Every thread is in (or at) cache.get while the first load is held open: without the
    # per-key lock a second load would begin within this window.
    second_load = threading.Event()
    for _ in range(50):
        if len(calls) >= 2:
            second_load.set()
            break
        gate.wait(0.01)
    gate.set()
    for t in threads:
        t.join(10)
    assert not second_load.is_set() and len(calls) == 1
    assert results == [{"HomeCurrency": "GBP"}] * 8


def test_other_realms_are_not_blocked_by_a_slow_load() -> None:
    cache = CompanyCache()
    slow_started, release = threading.Event(), threading.Event()

    def slow() -> dict:
        slow_started.set()
        release.wait(5)
        return {"realm": "slow"}

    t = threading.Thread(target=cache.get, args=("slow", "Preferences", slow))
    t.start()
    assert slow_started.wait(5)
    assert cache.get("fast", "Preferences", lambda: {"realm": "fast"}) == {"realm": "fast"}
    release.set()
    t.join(5)
