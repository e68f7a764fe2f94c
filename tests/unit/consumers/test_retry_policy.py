from __future__ import annotations

import pytest

from consumers.runtime import retry


@pytest.mark.parametrize(("attempt", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (8, 60.0)])
def test_exponential_and_capped(attempt: int, expected: float) -> None:
    assert retry.backoff(attempt, base=0.5, cap=60.0, rand=1.0) == expected


def test_jitter_scales_down_but_never_below_the_asked_wait() -> None:
    assert retry.backoff(3, base=0.5, cap=60.0, rand=0.5) == 1.0
    assert retry.backoff(1, base=0.5, cap=60.0, floor=30.0, rand=0.5) == 30.0  # QBO's 429 wait wins


def test_jitter_range() -> None:
    values = [retry.jitter() for _ in range(1000)]
    assert min(values) >= 0.5 and max(values) < 1.0
