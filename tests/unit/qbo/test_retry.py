from __future__ import annotations

import pytest

from qbo import errors
from qbo.retry import RetryPolicy, backoff, jitter

POLICY = RetryPolicy(max_attempts=4, base=0.25, cap=4.0, max_inline_wait=10.0)


def test_backoff_formula() -> None:
    assert [backoff(n, base=0.25, cap=4.0) for n in range(1, 8)] == [
        0.25,
        0.5,
        1.0,
        2.0,
        4.0,
        4.0,
        4.0,
    ]
    assert backoff(3, base=0.25, cap=4.0, rand=0.5) == 0.5
    assert backoff(1, base=0.25, cap=4.0, floor=3.0, rand=0.5) == 3.0


def test_jitter_range() -> None:
    assert all(0.5 <= jitter() < 1.0 for _ in range(1000))


@pytest.mark.parametrize(
    "error",
    [
        errors.ServerError("x", status=503),
        errors.TransportError("timed out"),
        errors.Throttled("slow down", status=429, retry_after=2.0),
    ],
)
def test_reads_are_retried(error) -> None:
    assert POLICY.wait(error, 1, repeatable=True, rand=1.0) is not None


def test_writes_without_requestid_are_not_retried() -> None:
    assert POLICY.wait(errors.TransportError("timed out"), 1, repeatable=False, rand=1.0) is None


@pytest.mark.parametrize(
    "error",
    [
        errors.Conflict("stale"),
        errors.Validation("bad"),
        errors.AuthError("no"),
        errors.DuplicateName("dup"),
        errors.NotFound("gone"),
    ],
)
def test_permanent_errors_are_not_retried(error) -> None:
    assert POLICY.wait(error, 1, repeatable=True, rand=1.0) is None


def test_gives_up_after_max_attempts() -> None:
    err = errors.ServerError("x")
    assert POLICY.wait(err, 3, repeatable=True, rand=1.0) == 1.0
    assert POLICY.wait(err, 4, repeatable=True, rand=1.0) is None


def test_honours_the_429_wait() -> None:
    err = errors.Throttled("slow", retry_after=3.0)
    assert POLICY.wait(err, 1, repeatable=True, rand=0.5) == 3.0


def test_long_429_waits_go_back_to_the_caller() -> None:
    # No Retry-After: Intuit says wait 60 s, longer than we sleep inline.
    err = errors.Throttled("slow")
    assert POLICY.wait(err, 1, repeatable=True, rand=1.0) is None
    assert POLICY.advise(err) == 60.0
