"""Per-realm QBO quotas shared by every process of the service, through PostgreSQL.

QBO allows, per realm and app, 500 requests a minute, 10 a second and 10 at once, and 40 batch
requests a minute (developer.intuit.com "limits and throttles"); a batch request counts
against both: it takes a grant of the realm's batch window (`SharedQuota.batches`, a window of
its own named "<realm>#batch") and then an ordinary grant and slot. Per-process counters cannot
hold that with several workers, so:
- the rate is a sliding-window log of grant times (one row per realm, locked for the grant;
  times come from the database clock, one clock for all hosts);
- concurrency is a set of slot rows leased with an expiry, so a crashed process's slot comes
  back by itself instead of leaking.
The windows are a little longer than QBO's: a grant happens just before the request leaves, and
network jitter can bunch arrivals together at QBO's end. Batches are spaced evenly over their
minute (`Limits.for_batches`), so none waits long for its grant.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Protocol

from qbo import errors

__all__ = ["Limits", "NoQuota", "Quota", "QuotaStore", "SharedQuota", "admit", "both"]


log = logging.getLogger(__name__)

# How often a request waiting for a free concurrency slot looks again (seconds), first and at
# most: polling less often when slots stay busy keeps the waiting processes off the CPU.
_SLOT_POLL = (0.02, 0.1)


def _holder_prefix() -> str:
    """Unique to this process: host, pid, and a random part (the pid of a crashed process,
    whose leases are still running, may be reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


# A slot holder's name is the process's prefix and a counter: no random read per request.
_HOLDER_PREFIX = _holder_prefix()
_HOLDERS = itertools.count(1)


def _forked() -> None:
    global _HOLDER_PREFIX, _HOLDERS  # a forked child is another process: its own names
    _HOLDER_PREFIX, _HOLDERS = _holder_prefix(), itertools.count(1)


os.register_at_fork(after_in_child=_forked)


@dataclass(frozen=True)
class Limits:
    per_second: int = 10
    per_minute: int = 500
    concurrent: int = 10
    # QBO counts over 1 s and 60 s. The margins absorb the jitter between our grant and the
    # request's arrival at QBO: 0.1 s, then 0.25 s still saw 429s on a loaded 2-core machine
    # (10 arrivals within 1 s of 10 grants spread over 1.25 s, at a 1,000-realm month-end),
    # and a 429 costs the realm a minute (QBO's documented wait). So 10 per 1.5 s: a realm of
    # single requests runs at 400 a minute, not 500; a backlog goes in batches anyway.
    second_window: float = 1.5
    minute_window: float = 61.0
    lease_seconds: float = 150.0  # longer than QBO's own 120 s request timeout
    max_wait: float = 30.0  # longer waits go back to the caller as `Throttled`
    batch_per_minute: int = 40  # /batch requests; each also counts as one request above

    def for_batches(self) -> Limits:
        """The batch window's limits: `batch_per_minute` a minute, spaced evenly (one per
        61 s / 40 = 1.525 s). QBO counts 40 in any minute, so 40 could go at once; but then
        the 41st waits for the oldest to leave the minute, up to a minute, past `max_wait`:
        measured at month-end, a realm's batches went in bursts of 40 and the batches formed
        after a burst were refused by our own quota (590 documents retried, each then looked
        up in QBO before its create). Spaced, a batch waits for the few queued before it."""
        return Limits(
            per_second=1,
            per_minute=self.batch_per_minute,
            concurrent=self.concurrent,
            second_window=self.minute_window / self.batch_per_minute,
            minute_window=self.minute_window,
            lease_seconds=self.lease_seconds,
            max_wait=self.max_wait,
            batch_per_minute=self.batch_per_minute,
        )


def admit(grants: Sequence[float], now: float, limits: Limits) -> tuple[float, list[float]]:
    """Sliding-window decision, pure. `grants` are past grant times (ascending, seconds).

    Returns (0, grants kept + now) when the request may go now, else (seconds to wait, kept).
    A request may go when fewer than `per_minute` grants fall in the last `minute_window` and
    fewer than `per_second` in the last `second_window`; otherwise it waits until the oldest
    grant that counts leaves its window.
    """
    recent = [g for g in grants if g > now - limits.minute_window]
    last_second = [g for g in recent if g > now - limits.second_window]
    waits = []
    if len(recent) >= limits.per_minute:
        waits.append(recent[-limits.per_minute] + limits.minute_window - now)
    if len(last_second) >= limits.per_second:
        waits.append(last_second[-limits.per_second] + limits.second_window - now)
    if waits:
        return max(0.001, *waits), recent
    return 0.0, [*recent, now]


class Quota(Protocol):
    """Something that grants a request its turn: `with quota.slot(): send()`."""

    def slot(self) -> AbstractContextManager[None]: ...

    def take(self) -> tuple[Callable[[], None] | None, float]:
        """One try, no wait: (release, 0) when granted, else (None, seconds to wait)."""
        ...


@contextmanager
def both(
    batches: Quota,
    requests: Quota,
    *,
    max_wait: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """A /batch request's two grants: a request slot of the realm (`requests`), then, at once, a
    grant of its batch window (`batches`), held for the block. Raises `errors.Throttled` past
    `max_wait`.

    A grant is stamped when it is taken and QBO counts the request when it arrives, so both are
    taken right before the request leaves: a batch grant that first waited for a request slot
    would arrive late, and our window would let the 41st batch of QBO's minute go (measured:
    429s at month-end). When the batch window is full, the request slot is given back at once
    (its grant is spent unsent: one of the realm's 500 a minute, never a request too many) and
    the window is waited for without holding a slot."""
    deadline = clock() + max_wait
    while True:
        with requests.slot():
            release, wait = batches.take()
            if release is not None:
                try:
                    yield
                finally:
                    release()
                return
        if clock() + wait > deadline:
            raise errors.Throttled(
                "over this service's QBO batch quota for the realm; try again later",
                retry_after=wait,
            )
        sleep(wait)


class NoQuota:
    """No limit (unit tests, or a realm the caller throttles otherwise)."""

    @contextmanager
    def slot(self) -> Iterator[None]:
        yield

    def take(self) -> tuple[Callable[[], None] | None, float]:
        return (lambda: None), 0.0


class QuotaStore(Protocol):
    """Where the grants and slots of every realm live, shared by every process (PostgreSQL in
    the service: `sequence_qbo.qbo_store.PgQuotas`). `grant` and `release` raise
    `qbo.errors.Retryable` when it cannot be reached."""

    def ensure_realm(self, realm_id: str, slots: int) -> None: ...

    def grant(self, realm_id: str, holder: str, limits: Limits) -> tuple[int | None, float]:
        """One try: (slot, 0) when granted, else (None, seconds to wait) or (None, -1) when
        every slot is taken. The decision is `admit`'s, on the grants the store keeps (the
        PostgreSQL store applies the same rule in SQL, in the grant's one statement)."""

    def release(self, realm_id: str, slot: int, holder: str) -> None: ...


class SharedQuota:
    """The realm's quota in a `QuotaStore`. Construction does no I/O."""

    def __init__(
        self,
        store: QuotaStore,
        realm_id: str,
        limits: Limits | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.store, self.realm_id, self.limits = store, realm_id, limits or Limits()
        self._sleep, self._rand = sleep, rand
        self._ensured = False
        self._batches: SharedQuota | None = None

    @property
    def batches(self) -> SharedQuota:
        """The realm's batch window: `with quota.batches.slot(), quota.slot(): send_batch()`."""
        if self._batches is None:
            self._batches = SharedQuota(
                self.store,
                f"{self.realm_id}#batch",
                self.limits.for_batches(),
                sleep=self._sleep,
                rand=self._rand,
            )
        return self._batches

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Waits for a grant and a concurrency slot; holds the slot for the block."""
        slot, holder = self._acquire()
        try:
            yield
        finally:
            self._release(slot, holder)

    def take(self) -> tuple[Callable[[], None] | None, float]:
        """One try, no wait: (release, 0) when granted, else (None, seconds to wait)."""
        holder = f"{_HOLDER_PREFIX}:{next(_HOLDERS)}"
        slot, wait = self._try(holder)
        if slot is None:
            return None, _SLOT_POLL[1] if wait < 0 else wait
        return (lambda: self._release(slot, holder)), 0.0

    def _acquire(self) -> tuple[int, str]:
        deadline = time.monotonic() + self.limits.max_wait
        holder = f"{_HOLDER_PREFIX}:{next(_HOLDERS)}"
        polls = 0
        while True:
            slot, wait = self._try(holder)
            if slot is not None:
                return slot, holder
            if wait < 0:  # no free slot
                polls += 1
                wait = min(_SLOT_POLL[1], _SLOT_POLL[0] * polls)
            if time.monotonic() + wait > deadline:
                raise errors.Throttled(
                    "over this service's QBO quota for the realm; try again later", retry_after=wait
                )
            # A little jitter so waiting processes do not all wake at the same instant.
            self._sleep(wait + self._rand() * 0.01)

    def _try(self, holder: str) -> tuple[int | None, float]:
        """(slot, 0) when granted; else (None, seconds to wait) or (None, -1): no free slot."""
        self._ensure()
        return self.store.grant(self.realm_id, holder, self.limits)

    def _ensure(self) -> None:
        if not self._ensured:
            self.store.ensure_realm(self.realm_id, self.limits.concurrent)
            self._ensured = True

    def _release(self, slot: int, holder: str) -> None:
        try:
            self.store.release(self.realm_id, slot, holder)
        except errors.Retryable:
            # The lease expires by itself; losing a release only delays the slot.
            log.warning("could not release QBO quota slot %s of realm %s", slot, self.realm_id)
