"""In-memory stand-ins for the app's dependencies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.deliveries import MemoryDeliveryLog
from api.errors import HandoffFailed, Unavailable


class ListPublisher:
    """Keeps what it was given; `failing=True` simulates a broker that does not acknowledge."""

    def __init__(self) -> None:
        self.records: list[Mapping[str, Any]] = []
        self.failing = False
        self.timeouts: list[float] = []

    def publish(self, changes: Sequence[Mapping[str, Any]], timeout: float) -> None:
        self.timeouts.append(timeout)
        if self.failing:
            raise HandoffFailed("broker down (fake)")
        self.records.extend(changes)


class BrokenDeliveryLog(MemoryDeliveryLog):
    """Reads work, writes fail (the database went away between the two)."""

    def record(self, keys: Any) -> None:
        raise Unavailable("database down (fake)")
