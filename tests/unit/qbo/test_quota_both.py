"""A /batch request's two grants are fresh together when it leaves (qbo.quota.both)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from qbo import errors
from qbo.quota import both


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Requests:
    """The realm's request quota: each slot costs `wait` seconds of clock first."""

    def __init__(self, log: list[str], clock: Clock, wait: float = 0.0) -> None:
        self.log, self.clock, self.wait = log, clock, wait

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.clock.now += self.wait
        self.log.append(f"req+@{self.clock.now:g}")
        try:
            yield
        finally:
            self.log.append("req-")

    def take(self) -> tuple[Callable[[], None] | None, float]:
        raise AssertionError("the request quota is waited for, not tried")


class Batches:
    """The batch window: full until `free_at`."""

    def __init__(self, log: list[str], clock: Clock, free_at: float = 0.0) -> None:
        self.log, self.clock, self.free_at = log, clock, free_at

    def slot(self) -> Iterator[None]:
        raise AssertionError("the batch window is tried once the request slot is held")

    def take(self) -> tuple[Callable[[], None] | None, float]:
        if self.clock.now < self.free_at:
            self.log.append("batch?")
            return None, self.free_at - self.clock.now
        self.log.append(f"batch+@{self.clock.now:g}")
        return (lambda: self.log.append("batch-")), 0.0


def test_the_batch_grant_is_taken_once_the_request_slot_is_held() -> None:
    """A request slot that took 10 s to come does not age the batch grant: it is taken then."""
    log: list[str] = []
    clock = Clock()
    with both(Batches(log, clock), Requests(log, clock, wait=10.0), clock=clock, sleep=clock.sleep):
        log.append("send")
    assert log == ["req+@10", "batch+@10", "send", "batch-", "req-"]


def test_a_full_batch_window_is_waited_for_without_holding_a_request_slot() -> None:
    log: list[str] = []
    clock = Clock()
    batches = Batches(log, clock, free_at=20.0)
    with both(batches, Requests(log, clock), clock=clock, sleep=clock.sleep):
        log.append("send")
    assert log == ["req+@0", "batch?", "req-", "req+@20", "batch+@20", "send", "batch-", "req-"]


def test_past_the_longest_wait_it_is_throttled() -> None:
    log: list[str] = []
    clock = Clock()
    batches = Batches(log, clock, free_at=50.0)
    with (
        pytest.raises(errors.Throttled),
        both(batches, Requests(log, clock), max_wait=30.0, clock=clock, sleep=clock.sleep),
    ):
        log.append("send")
    assert "send" not in log and log[-1] == "req-"


def test_an_error_in_the_block_releases_both() -> None:
    log: list[str] = []
    clock = Clock()
    with (
        pytest.raises(ConnectionError),
        both(Batches(log, clock), Requests(log, clock), clock=clock, sleep=clock.sleep),
    ):
        raise ConnectionError("reset")
    assert log == ["req+@0", "batch+@0", "batch-", "req-"]
