"""Per-realm throttling: requests per second, per minute, batch per minute, and concurrency."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.config import Quotas


@dataclass
class _Window:
    second: deque[float] = field(default_factory=deque)
    minute: deque[float] = field(default_factory=deque)
    batch: deque[float] = field(default_factory=deque)
    inflight: int = 0


def _trim(stamps: deque[float], horizon: float) -> int:
    while stamps and stamps[0] <= horizon:
        stamps.popleft()
    return len(stamps)


class Limiter:
    """Sliding windows on the monotonic clock; a refused request does not count."""

    def __init__(self, defaults: Quotas) -> None:
        self.defaults = defaults
        self.overrides: dict[str, Quotas] = {}
        self.windows: dict[str, _Window] = {}

    def quotas(self, realm_id: str) -> Quotas:
        return self.overrides.get(realm_id, self.defaults)

    def admit(self, realm_id: str, batch: bool) -> bool:
        q, w, now = (
            self.quotas(realm_id),
            self.windows.setdefault(realm_id, _Window()),
            time.monotonic(),
        )
        if w.inflight >= q.concurrent or _trim(w.second, now - 1) >= q.per_second:
            return False
        if _trim(w.minute, now - 60) >= q.per_minute:
            return False
        if batch and _trim(w.batch, now - 60) >= q.batch_per_minute:
            return False
        w.second.append(now)
        w.minute.append(now)
        if batch:
            w.batch.append(now)
        w.inflight += 1
        return True

    def release(self, realm_id: str) -> None:
        self.windows[realm_id].inflight -= 1

    def inflight(self) -> dict[str, int]:
        return {realm: w.inflight for realm, w in self.windows.items()}

    def reset(self) -> None:
        self.overrides.clear()
        self.windows.clear()
