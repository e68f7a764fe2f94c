"""The QBO client as the document sync sees it: bound to one realm, and counting the requests
one sync makes (QBO calls per invoice is a headline figure, kept per attempt in the ledger).

`CountingApi` is a thin adapter over the client's call hook (`QboClient.observed` with a
`CallCount`), kept until `sync/documents.py` holds the observed client and its count itself.
"""

from __future__ import annotations

from typing import Any

from qbo.client import CallCount, CallHook, ClientProvider, QboClient

__all__ = ["ClientProvider", "CountingApi"]


class CountingApi:
    """The client, counting its calls: `calls` counts the ones that reach QBO (Preferences
    and CompanyInfo only when the per-realm cache fetches them)."""

    def __init__(self, inner: QboClient) -> None:
        self.inner = inner
        self.realm_id = inner.realm_id
        self._count = CallCount()
        self._counted = inner.observed(self._count)

    @property
    def calls(self) -> int:
        return self._count.calls

    def before_each_call(self, hook: CallHook) -> None:
        """`hook` runs before every further QBO call of this client (the document sync keeps
        its lease alive with it); an exception it raises stops the call."""
        self._counted = self._counted.observed(hook)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._counted, name)
