"""Which webhook notices were already handed off, by dedupe key (docs/qbo-behaviours.md#webhooks).

Intuit redelivers on any non-2xx or slow answer, and a retried CloudEvent keeps its `id`. A key
is recorded only AFTER its hand-off was acknowledged, so a failed hand-off is retried in full.
Two identical deliveries racing each other may both publish; that is tolerated because the
record's `event_id` is derived from the dedupe key, so downstream recognises the re-publish.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Protocol

from api.errors import Unavailable
from store.db import Database, StoreError

__all__ = ["DeliveryLog", "MemoryDeliveryLog", "PgDeliveryLog"]


class DeliveryLog(Protocol):
    def seen(self, keys: Collection[str]) -> set[str]:
        """The subset of `keys` already handed off."""

    def record(self, keys: Collection[str]) -> None:
        """Marks `keys` as handed off (idempotent)."""


class PgDeliveryLog:
    """The `webhook_deliveries` table (migration 0005)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def seen(self, keys: Collection[str]) -> set[str]:
        if not keys:
            return set()
        try:
            rows = self._db.all("seen_webhook_deliveries", {"keys": list(keys)})
        except StoreError as exc:
            raise Unavailable(f"cannot read webhook_deliveries: {exc}") from exc
        return {row["dedupe_key"] for row in rows}

    def record(self, keys: Collection[str]) -> None:
        if not keys:
            return
        try:
            self._db.execute("record_webhook_deliveries", {"keys": sorted(keys)})
        except StoreError as exc:
            raise Unavailable(f"cannot write webhook_deliveries: {exc}") from exc


class MemoryDeliveryLog:
    """In-process `DeliveryLog` for unit tests and local experiments."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def seen(self, keys: Collection[str]) -> set[str]:
        with self._lock:
            return self._keys.intersection(keys)

    def record(self, keys: Collection[str]) -> None:
        with self._lock:
            self._keys.update(keys)
