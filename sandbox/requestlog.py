"""Every API and token call, for tests and benchmarks that count QBO calls."""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any


class RequestLog:
    def __init__(self, size: int) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)
        self.seq = 0
        self.counts: Counter[tuple[str, str, str, str, int]] = Counter()

    def add(
        self,
        realm: str,
        method: str,
        path: str,
        entity: str,
        operation: str,
        status: int,
        **extra: Any,
    ) -> None:
        self.seq += 1
        entry = {
            "seq": self.seq,
            "time": time.time(),
            "realm": realm,
            "method": method,
            "path": path,
            "entity": entity,
            "operation": operation,
            "status": status,
            **extra,
        }
        self.entries.append(entry)
        self.counts[(realm, method, entity, operation, status)] += 1

    def oauth(self, operation: str, status: int) -> None:
        self.add("", "POST", "/oauth2", "OAuth", operation, status)

    def query(
        self,
        realm: str | None = None,
        entity: str | None = None,
        method: str | None = None,
        since: int = 0,
    ) -> list[dict[str, Any]]:
        return [
            e
            for e in self.entries
            if e["seq"] > since
            and (realm is None or e["realm"] == realm)
            and (entity is None or e["entity"].lower() == entity.lower())
            and (method is None or e["method"] == method.upper())
        ]

    def stats(self, realm: str | None = None) -> dict[str, Any]:
        by: dict[str, Counter[str]] = {
            k: Counter() for k in ("realm", "method", "entity", "operation", "status")
        }
        total = 0
        for (r, method, entity, operation, status), n in self.counts.items():
            if realm is not None and r != realm:
                continue
            total += n
            for key, value in (
                ("realm", r),
                ("method", method),
                ("entity", entity),
                ("operation", f"{entity}.{operation}"),
                ("status", str(status)),
            ):
                by[key][value] += n
        return {"total": total, **{f"by_{k}": dict(v) for k, v in by.items()}, "last_seq": self.seq}

    def clear(self) -> None:
        self.entries.clear()
        self.counts.clear()
