"""Retry scheduling: the backoff formula with the jitter pinned."""

from __future__ import annotations

import pytest

from consumers.runtime import retry


@pytest.mark.parametrize(("attempt", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)])
def test_backoff_doubles(attempt: int, expected: float) -> None:
    assert retry.next_retry(attempt, max_attempts=10, base=0.5) == expected


def test_backoff_is_capped_and_jittered() -> None:
    assert retry.next_retry(30, max_attempts=99, base=0.5, cap=60.0, rand=0.5) == 30.0


def test_the_wait_the_other_side_asked_for_is_a_floor() -> None:
    assert retry.next_retry(1, max_attempts=5, base=0.1, floor=3.0) == 3.0


def test_no_retry_once_the_attempts_are_used_up() -> None:
    assert retry.next_retry(4, max_attempts=5, base=0.1) is not None
    assert retry.next_retry(5, max_attempts=5, base=0.1) is None


def test_jitter_is_equal_jitter() -> None:
    assert all(0.5 <= retry.jitter() < 1.0 for _ in range(1000))
