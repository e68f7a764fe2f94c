"""Per-realm backpressure: which partitions are paused because a realm's queue is full.

A realm (a concurrency group) whose messages held in memory reach `limit` pauses the
partitions its messages come from; they resume once it drains to half (hysteresis), unless
another full realm holds them too. Nothing fetched is dropped: the message that filled the
realm is queued like the others, so memory stays bounded by `limit` per realm (plus at most one
fetch batch per partition: each pauses at its first message past the bound) and nothing is
skipped. A partition holds every realm's messages in offset order, so
a paused partition also holds back the quiet realms' messages behind the busy one's on it:
`limit` is the trade between memory and how long a busy realm may delay the others' fetching
(the global `max_buffered` bounds the total anyway). Pure: the runtime pauses and resumes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["RealmHolds"]

P = TypeVar("P", bound=Hashable)  # a partition


class RealmHolds(Generic[P]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, set[P]] = {}  # full realm → partitions it holds
        self._holders: Counter[P] = Counter()  # partition → full realms holding it

    def fetched(self, realm: str, partition: P, queued: int) -> bool:
        """A message of `realm` from `partition` was queued (the realm now holds `queued`).
        True when the partition must be paused now (it was not held before)."""
        if queued < self.limit:
            return False
        held = self._held.setdefault(realm, set())
        if partition in held:
            return False
        held.add(partition)
        self._holders[partition] += 1
        return self._holders[partition] == 1

    def drained(self, queued: Callable[[str], int]) -> list[P]:
        """Releases the realms drained to half their limit; the partitions no realm holds
        any more (to resume)."""
        free: list[P] = []
        for realm in [r for r in self._held if queued(r) <= self.limit // 2]:
            for partition in self._held.pop(realm):
                self._holders[partition] -= 1
                if not self._holders[partition]:
                    del self._holders[partition]
                    free.append(partition)
        return free

    def held(self, partition: P) -> bool:
        return partition in self._holders

    def forget(self, partitions: Iterable[P]) -> None:
        """Revoked or lost partitions: nothing to resume for them."""
        gone = set(partitions)
        for realm in list(self._held):
            self._held[realm] -= gone
            if not self._held[realm]:
                del self._held[realm]
        for partition in gone:
            self._holders.pop(partition, None)

    @property
    def full(self) -> int:
        """Realms holding partitions now."""
        return len(self._held)
