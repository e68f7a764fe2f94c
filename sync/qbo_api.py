"""The QBO client as the document sync sees it: bound to one realm, and counting the requests
one sync makes (QBO calls per invoice is a headline figure, kept per attempt in the ledger)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qbo.client import QboClient

# account id → a client bound to that account's realm (raises qbo.errors.NotConnected).
ClientProvider = Callable[[str], QboClient]

# Served from the per-realm cache after the first call: not a request per document.
_CACHED = frozenset({"preferences", "company_info"})


class CountingApi:
    """Delegates every method to the client; `calls` counts the ones that reach QBO."""

    def __init__(self, inner: QboClient) -> None:
        self.inner = inner
        self.realm_id = inner.realm_id
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name in _CACHED or not callable(method):
            return method

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return method(*args, **kwargs)

        return counted
