"""Watches a `Database`'s pool per thread: how many connections one thread holds at once, and
whether a thread sends a QBO request while it holds one (the document sync must do neither)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from qbo.transport import Transport
from store.db import Database


class PoolWatch:
    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.peak = 0  # most connections one thread held at once
        self.checkouts = 0
        self.qbo_while_holding: list[str] = []  # QBO requests sent holding a connection
        pool = db._pool  # the one pool every part of the service shares
        original = pool.connection

        @contextmanager
        def connection(*args: Any, **kwargs: Any) -> Iterator[Any]:
            depth = self._depth() + 1
            self._local.depth = depth
            with self._lock:
                self.peak = max(self.peak, depth)
                self.checkouts += 1
            try:
                with original(*args, **kwargs) as conn:
                    yield conn
            finally:
                self._local.depth = depth - 1

        monkeypatch.setattr(pool, "connection", connection)
        send = Transport.send

        def watched_send(transport: Transport, *args: Any, **kwargs: Any) -> Any:
            if self._depth():
                with self._lock:
                    self.qbo_while_holding.append(f"{args[:2]}")
            return send(transport, *args, **kwargs)

        monkeypatch.setattr(Transport, "send", watched_send)

    def _depth(self) -> int:
        return int(getattr(self._local, "depth", 0))
