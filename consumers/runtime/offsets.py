"""Which offset of a partition may be committed: the lowest contiguous completed offset.

Messages of one partition finish out of order (different keys run concurrently), but Kafka keeps
one position per partition. The position we store is the first offset that is not done yet, so a
crash replays everything from there (at-least-once) and never skips an unfinished message.
Pure: no Kafka, no clock, no locks (the runtime serialises calls).
"""

from __future__ import annotations

from collections import deque


class PartitionOffsets:
    """Offsets of one partition, tracked in the order they were polled (increasing)."""

    def __init__(self) -> None:
        self._pending: deque[int] = deque()  # tracked, in poll order; head = lowest unfinished
        self._done: set[int] = set()  # completed but not yet contiguous with the head
        self._next: int | None = None  # position after the last tracked offset
        self.stored: int | None = None  # the position last handed to the consumer
        self.closed = False  # revoked or lost: nothing more starts or retries for it

    def track(self, offset: int) -> None:
        """A polled message; offsets must increase (a rewind needs a new tracker)."""
        if self._next is not None and offset < self._next:
            raise ValueError(f"offset {offset} polled after {self._next - 1}: not increasing")
        self._pending.append(offset)
        self._next = offset + 1

    def complete(self, offset: int) -> None:
        """The message's effect is durable (or it was dead-lettered)."""
        self._done.add(offset)
        while self._pending and self._pending[0] in self._done:
            self._done.discard(self._pending.popleft())
        if not self._done:
            # An emptied set keeps the largest table it ever had (2 MB after 20,000 offsets done
            # behind a slow one): a fresh one gives the memory back after a burst.
            self._done = set()

    def committable(self) -> int | None:
        """The position to commit: the lowest unfinished offset, or one past the last tracked."""
        if self._pending:
            return self._pending[0]
        return self._next

    def advanced(self) -> int | None:
        """The committable position if it moved since the last call (which records it)."""
        position = self.committable()
        if position is None or position == self.stored:
            return None
        self.stored = position
        return position

    @property
    def in_progress(self) -> int:
        return len(self._pending)
