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

    def __init__(self, ttl_seconds: float = 900.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self._clock = ttl_seconds, clock
        self._items: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}
        self._lock = threading.Lock()

    def get(self, realm_id: str, kind: str,
            load: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        key = (realm_id, kind)
        with self._lock:
            found = self._items.get(key)
        if found is not None and self._clock() - found[1] < self.ttl:
            return found[0]
        value = load()  # outside the lock: a slow QBO call must not block other realms
        with self._lock:
            self._items[key] = (value, self._clock())
        return value

    def forget(self, realm_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == realm_id]:
                del self._items[key]
