"""Retry scheduling: the backoff formula with the jitter pinned."""

from __future__ import annotations

import pytest

import qbo.retry
from consumers.runtime import retry


@pytest.mark.parametrize(("attempt", "expected"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)])
def test_backoff_doubles(attempt: int, expected: float) -> None:
    assert retry.Backoff(base=0.5).delay(attempt) == expected


def test_backoff_is_capped_at_about_five_minutes_and_jittered() -> None:
    assert retry.Backoff().delay(30) == 300.0
    assert retry.Backoff(base=0.5, cap=60.0).delay(30, rand=0.5) == 30.0


def test_the_wait_the_other_side_asked_for_is_a_floor_even_beyond_the_cap() -> None:
    assert retry.Backoff(base=0.1).delay(1, floor=3.0) == 3.0
    assert retry.Backoff(cap=300.0).delay(50, floor=600.0) == 600.0


def test_there_is_no_attempt_limit() -> None:
    assert retry.Backoff().delay(10_000) == 300.0


def test_one_implementation_shared_with_the_qbo_client() -> None:
    assert retry.backoff is qbo.retry.backoff
    assert retry.jitter is qbo.retry.jitter


def test_jitter_is_equal_jitter() -> None:
    assert all(0.5 <= retry.jitter() < 1.0 for _ in range(1000))
