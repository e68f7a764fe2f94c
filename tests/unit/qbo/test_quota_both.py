"""A /batch request's two grants are fresh together when it leaves (qbo.quota.both)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from qbo.quota import both


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorded:
    """A quota whose grants are logged; each grant may cost some clock time (its wait)."""

    def __init__(self, name: str, log: list[str], clock: Clock, waits: list[float]) -> None:
        self.name, self.log, self.clock, self.waits = name, log, clock, waits

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.clock.now += self.waits.pop(0) if self.waits else 0.0
        self.log.append(f"{self.name}+")
        try:
            yield
        finally:
            self.log.append(f"{self.name}-")


def test_a_quick_second_grant_keeps_the_first() -> None:
    log: list[str] = []
    clock = Clock()
    batch, request = Recorded("batch", log, clock, []), Recorded("req", log, clock, [0.2])
    with both(batch, request, fresh=0.5, clock=clock):
        log.append("send")
    assert log == ["batch+", "req+", "send", "req-", "batch-"]


def test_a_long_wait_for_the_second_takes_both_again() -> None:
    """The batch grant aged 10 s waiting for a request slot: sending it then could make the
    41st batch of QBO's minute. Both are given back and taken again, then it goes."""
    log: list[str] = []
    clock = Clock()
    batch, request = Recorded("batch", log, clock, []), Recorded("req", log, clock, [10.0, 0.1])
    with both(batch, request, fresh=0.5, clock=clock):
        log.append("send")
    assert log == ["batch+", "req+", "req-", "batch-", "batch+", "req+", "send", "req-", "batch-"]


def test_an_error_in_the_block_releases_both() -> None:
    log: list[str] = []
    clock = Clock()
    batch, request = Recorded("batch", log, clock, []), Recorded("req", log, clock, [])
    try:
        with both(batch, request, clock=clock):
            raise ConnectionError("reset")
    except ConnectionError:
        pass
    assert log == ["batch+", "req+", "req-", "batch-"]
