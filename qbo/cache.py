"""Preferences and CompanyInfo per realm, kept for a while: they change rarely and every
document needs them (home currency, multicurrency, tax preferences)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["CompanyCache"]


class CompanyCache:
    """(realm, kind) → (value, loaded at). Thread-safe; shared by the clients of one factory."""

    def __init__(
        self, ttl_seconds: float = 900.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self._clock = ttl_seconds, clock
        self._items: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, str], threading.Lock] = {}

    def get(self, realm_id: str, kind: str, load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        key = (realm_id, kind)
        found = self._fresh(key)
        if found is not None:
            return found
        # One load per key at a time: the first documents of a realm arrive together, and N
        # threads missing at once would each spend a QBO call on the same Preferences. The
        # per-key lock never blocks other realms.
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            found = self._fresh(key)
            if found is not None:
                return found
            value = load()
            with self._lock:
                self._items[key] = (value, self._clock())
        return value

    def _fresh(self, key: tuple[str, str]) -> dict[str, Any] | None:
        with self._lock:
            found = self._items.get(key)
        if found is not None and self._clock() - found[1] < self.ttl:
            return found[0]
        return None

    def forget(self, realm_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == realm_id]:
                del self._items[key]
