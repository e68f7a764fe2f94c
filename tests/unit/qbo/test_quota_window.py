"""The sliding-window decision of the shared quota (pure)."""

from __future__ import annotations

import pytest

from qbo.quota import Limits, admit

LIMITS = Limits(per_second=10, per_minute=500, second_window=1.25, minute_window=61.0)


def test_admits_under_both_limits() -> None:
    wait, kept = admit([], 100.0, LIMITS)
    assert wait == 0 and kept == [100.0]


def test_tenth_grant_in_a_second_waits_for_the_oldest_to_leave() -> None:
    grants = [100.0 + i * 0.01 for i in range(10)]
    wait, kept = admit(grants, 100.5, LIMITS)
    assert wait == pytest.approx(100.0 + 1.25 - 100.5)
    assert kept == grants  # nothing granted


def test_minute_limit() -> None:
    grants = [float(i) * 0.12 for i in range(500)]  # 500 grants over 60 s
    wait, _ = admit(grants, 60.0, LIMITS)
    assert wait == pytest.approx(0.0 + 61.0 - 60.0)
    wait, kept = admit(grants, 61.5, LIMITS)  # the oldest five have left the window
    assert wait == 0 and len(kept) == 500 - 5 + 1


def test_old_grants_are_dropped() -> None:
    wait, kept = admit([1.0, 2.0, 70.0], 70.5, LIMITS)
    assert wait == 0 and kept == [70.0, 70.5]


def test_simulated_steady_state_respects_both_windows() -> None:
    """Greedy clients granted as soon as allowed: never more than QBO's limits in QBO's own
    windows (1 s and 60 s), and close to the minute limit."""
    grants: list[float] = []
    now, granted = 0.0, []
    while now < 130.0:
        wait, kept = admit(grants, now, LIMITS)
        if wait == 0:
            grants = kept
            granted.append(now)
        else:
            now += wait
    for t in granted:
        assert sum(1 for g in granted if t <= g < t + 1.0) <= 10
        assert sum(1 for g in granted if t <= g < t + 60.0) <= 500
    in_steady_minute = sum(1 for g in granted if 65.0 <= g < 125.0)
    assert in_steady_minute >= 0.9 * 500
