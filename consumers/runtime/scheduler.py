"""The key scheduler: which queued messages may start now.

Rules (docs/architecture.md#ordering-and-concurrency):
- one message per key at a time, in arrival order (ordering per key, not per partition);
- at most `group_limit` messages in flight per concurrency group (an account, hence a QBO realm,
  whose quota is 10 concurrent requests), and at most `max_in_flight` overall (the thread pool);
- a message waiting for a retry keeps its key busy (later messages of the key wait behind it)
  without holding a thread or a group slot; a group can be held back as a whole (a 429 applies to
  the realm) while other groups carry on;
- fairness: the groups with a startable message are served round-robin, one QBO request's worth
  of work per group per turn, and the turn carries over from one `start` to the next. That is one
  message, or, when the message is `batchable` (a create that may share a QBO /batch request
  with its realm's other creates, sync/batching.py), up to `batch_turn` batchable messages of
  the group in a row: QBO's quota is counted in requests, and a realm's backlog in batches
  costs a request per 30 documents. So a realm with 5,000 queued invoices gets one request's
  worth per turn like a realm with one invoice: the quiet realm's invoice waits for at most one
  turn per busy group, never behind the busy realm's backlog (a busy realm is also capped at
  `group_limit` in flight); and the busy realm is not held to one document per turn, which
  would leave its quota unused while every other realm is served (month-end: the busiest
  realm sets the drain time, bench/month_end.py);
- the longest backlog: one start in `longest_every` goes to the group holding the most
  messages, on top of its turns. A burst is drained when its longest backlog is, and that
  realm's pace is set by its own QBO quota, which no other realm can use: served at one turn
  in N groups it would idle its quota while the others drain, then drain alone at the end.
  Once its quota holds it back its handlers wait and its `group_limit` hands the starts back.
Pure: the caller passes `now` and serialises calls.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class KeyScheduler(Generic[T]):
    def __init__(
        self,
        *,
        max_in_flight: int,
        group_limit: int = 10,
        group_limits: Mapping[str, int] | None = None,
        batch_turn: int = 1,
        longest_every: int = 0,
    ) -> None:
        if batch_turn < 1 or longest_every < 0:
            raise ValueError("a turn starts at least one message; longest_every is 0 or more")
        self.max_in_flight = max_in_flight
        self.batch_turn = batch_turn
        self.longest_every = longest_every
        self._longest: str | None = None  # the group holding the most messages (as they came)
        self._since_longest = 0  # starts since the longest backlog's last extra one
        self.group_limit = group_limit
        self.group_limits = dict(group_limits or {})
        # key → (group, message, batchable), head = current message
        self._queues: dict[Hashable, deque[tuple[str, T, bool]]] = {}
        self._busy: set[Hashable] = set()  # head running or waiting for its retry
        self._runnable: dict[str, deque[Hashable]] = {}  # group → keys whose head may start
        self._turns: deque[str] = deque()  # the groups of `_runnable`, in round-robin order
        self._turn_left: dict[str, int] = {}  # batchable starts left in the front group's turn
        # Groups new to the rotation since the last `start` (a quiet realm's first message):
        # they take the next turns, in arrival order.
        self._fresh: deque[str] = deque()
        self._group_queued: dict[str, int] = {}  # messages held per group, running ones included
        self._deferred: list[tuple[float, int, Hashable]] = []  # heap of (due, seq, key)
        self._due: dict[Hashable, float] = {}
        self._seq = 0
        self._in_flight: dict[str, int] = {}
        self._held: dict[str, float] = {}
        self.in_flight = 0
        self.queued = 0  # messages held here, running ones included

    def add(self, key: Hashable, group: str, item: T, *, batchable: bool = False) -> None:
        queue = self._queues.setdefault(key, deque())
        queue.append((group, item, batchable))
        self.queued += 1
        held = self._group_queued[group] = self._group_queued.get(group, 0) + 1
        if self._longest is None or held > self._group_queued.get(self._longest, 0):
            self._longest = group
        if len(queue) == 1:
            self._make_runnable(group, key)

    def queued_in(self, group: str) -> int:
        """Messages of `group` held here (running ones included)."""
        return self._group_queued.get(group, 0)

    def start(self, now: float) -> list[T]:
        """Messages to run now, round-robin over the groups (one request's worth per group per
        turn); they count as in flight until `finish` or `defer`."""
        self._release_due(now)
        self._turns.extendleft(reversed(self._fresh))
        self._fresh.clear()
        started: list[T] = []
        while self.in_flight < self.max_in_flight:
            longest = self._longest_due(now)
            if longest is not None:
                started.append(self._start_extra(longest))
                continue
            group = self._next_turn(now)
            if group is None:
                break
            self._since_longest += 1
            started.append(self._start_next(group))
        return started

    def _next_turn(self, now: float) -> str | None:
        """The next group of the rotation that may start a message (at the front), if any."""
        for _ in range(len(self._turns)):
            group = self._turns[0]
            if self._held.get(group, 0.0) <= now and self._has_room(group):
                return group
            self._pass_turn(group)
        return None

    def _longest_due(self, now: float) -> str | None:
        """The group holding the most messages, when one start in `longest_every` is its due
        on top of its turns and it may start one. The longest backlog sets when a month-end
        burst is drained (its QBO quota is its own: the time it leaves unused is lost), so it
        keeps going at up to its quota's pace from the start instead of at one turn in N
        groups; once its quota holds it back, its handlers wait and its bound (`group_limit`)
        gives the starts back to the rotation. A fresh group waits for one such start at most:
        it takes the next turn."""
        group = self._longest
        if (
            not self.longest_every
            or self._since_longest < self.longest_every - 1
            or group is None
            or group not in self._runnable
            or self._held.get(group, 0.0) > now
            or not self._has_room(group)
        ):
            return None
        self._since_longest = 0
        return group

    def _start_extra(self, group: str) -> T:
        """Starts the next message of `group` out of its turn (the rotation does not move)."""
        keys = self._runnable[group]
        item = self._start_head(keys.popleft())
        if not keys:
            del self._runnable[group]
            self._turn_left.pop(group, None)
            self._turns.remove(group)
        return item

    def _start_next(self, group: str) -> T:
        """Starts the next message of `group`, at the front of the rotation. Its turn passes
        unless the message is batchable and the turn has room for the batchable one behind it:
        then the group keeps the front, and the next free thread is its own again (a turn spans
        several `start` calls when threads free up one by one; a fresh group still goes first)."""
        keys = self._runnable[group]
        key = keys.popleft()
        item = self._start_head(key)
        left = self._turn_left.pop(group, self.batch_turn) - 1
        if not keys:
            del self._runnable[group]
            self._turns.popleft()
        elif left > 0 and self._queues[key][0][2] and self._queues[keys[0]][0][2]:
            self._turn_left[group] = left
        else:
            self._turns.rotate(-1)
        return item

    def _pass_turn(self, group: str) -> None:
        self._turn_left.pop(group, None)
        self._turns.rotate(-1)

    def finish(self, key: Hashable) -> None:
        """The running head of `key` is done; the key's next message becomes runnable."""
        queue = self._queues[key]
        group, _, _ = queue.popleft()
        self._leave(key, group)
        self.queued -= 1
        self._unqueue(group, 1)
        if queue:
            self._make_runnable(queue[0][0], key)
        else:
            del self._queues[key]

    def defer(self, key: Hashable, until: float) -> None:
        """The running head of `key` will be retried at `until`; the key stays busy till then."""
        self._leave(key, self._queues[key][0][0])
        self._busy.add(key)
        self._seq += 1
        self._due[key] = until
        heapq.heappush(self._deferred, (until, self._seq, key))

    @property
    def deferred(self) -> int:
        """Keys whose head waits for its retry."""
        return len(self._due)

    def parked(self, now: float) -> int:
        """Messages that wait on a retry and hold no thread: every message of a key whose head
        waits for its retry, and of the keys of a held group waiting to start."""
        n = sum(len(self._queues[k]) for k in self._due)
        for group, until in self._held.items():
            if until > now:
                n += sum(len(self._queues[k]) for k in self._runnable.get(group, ()))
        return n

    def hold_group(self, group: str, until: float) -> None:
        """Start nothing more in `group` before `until` (what is running carries on)."""
        self._held[group] = max(until, self._held.get(group, 0.0))

    def next_due(self) -> float | None:
        """When a deferred message or a held group next becomes startable."""
        times = list(self._held.values())
        if self._deferred:
            times.append(self._deferred[0][0])
        return min(times) if times else None

    def drop(self, predicate: Callable[[Hashable], bool]) -> list[T]:
        """Forgets the messages of matching keys that are not running (a revoked partition).

        A running head stays until `finish`/`defer`; nothing queued behind it will start."""
        dropped: list[T] = []
        for key in [k for k in self._queues if predicate(k)]:
            queue = self._queues[key]
            running = key in self._busy and key not in self._due
            head = queue.popleft() if running else None
            dropped.extend(item for _, item, _ in queue)
            self.queued -= len(queue)
            for group, _, _ in queue:
                self._unqueue(group, 1)
            queue.clear()
            self._forget_waiting(key)
            if head is not None:
                queue.append(head)
            else:
                del self._queues[key]
        return dropped

    def _make_runnable(self, group: str, key: Hashable) -> None:
        keys = self._runnable.get(group)
        if keys is None:
            keys = self._runnable[group] = deque()
            self._fresh.append(group)
        keys.append(key)

    def _unqueue(self, group: str, n: int) -> None:
        left = self._group_queued[group] - n
        if left:
            self._group_queued[group] = left
        else:
            del self._group_queued[group]
            if group == self._longest:
                self._longest = None  # the next message added names the next one

    def _has_room(self, group: str) -> bool:
        limit = self.group_limits.get(group, self.group_limit)
        return self.in_flight < self.max_in_flight and self._in_flight.get(group, 0) < limit

    def _start_head(self, key: Hashable) -> T:
        group, item, _ = self._queues[key][0]
        self._busy.add(key)
        self._in_flight[group] = self._in_flight.get(group, 0) + 1
        self.in_flight += 1
        return item

    def _leave(self, key: Hashable, group: str) -> None:
        self._busy.discard(key)
        self._in_flight[group] -= 1
        if not self._in_flight[group]:
            del self._in_flight[group]
        self.in_flight -= 1

    def _release_due(self, now: float) -> None:
        while self._deferred and self._deferred[0][0] <= now:
            _, _, key = heapq.heappop(self._deferred)
            if key in self._due and self._due[key] <= now:
                del self._due[key]
                self._busy.discard(key)
                self._make_runnable(self._queues[key][0][0], key)
        for group in [g for g, until in self._held.items() if until <= now]:
            del self._held[group]

    def _forget_waiting(self, key: Hashable) -> None:
        """Removes a key that is not running from the deferred and runnable sets."""
        if self._due.pop(key, None) is not None:
            self._busy.discard(key)
        for group, keys in list(self._runnable.items()):
            if key in keys:
                keys.remove(key)
                if not keys:
                    del self._runnable[group]
                    self._turn_left.pop(group, None)
                    (self._fresh if group in self._fresh else self._turns).remove(group)
