"""What the document sync needs from a QBO client bound to one realm (qbo.client satisfies it),
and a wrapper that counts the calls one sync makes (QBO calls per invoice is a headline figure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from qbo.query import Query

Payload = dict[str, Any]


class QboApi(Protocol):
    realm_id: str

    def create(self, entity: str, payload: Payload, *, request_id: str) -> Payload: ...

    def update(
        self,
        entity: str,
        entity_id: str,
        sync_token: str,
        changes: Payload,
        *,
        request_id: str,
        reapply_on_conflict: bool = False,
    ) -> Payload: ...

    def get(self, entity: str, qbo_id: str) -> dict[str, Any]: ...

    def query(self, query: Query) -> Iterator[dict[str, Any]]: ...

    def void(
        self, entity: str, qbo_id: str, sync_token: str, *, request_id: str
    ) -> dict[str, Any]: ...

    def preferences(self) -> dict[str, Any]: ...

    def company_info(self) -> dict[str, Any]: ...

    def exchange_rate(self, currency: str, as_of: dt.date) -> Payload: ...


# account id → a client bound to that account's realm (raises qbo.errors.NotConnected).
ClientProvider = Callable[[str], QboApi]


class CountingApi:
    """Delegates to a client and counts the requests each method makes (cached reads of
    Preferences / CompanyInfo are not requests, so they count only when the client says so)."""

    def __init__(self, inner: QboApi) -> None:
        self.inner = inner
        self.realm_id = inner.realm_id
        self.calls = 0

    def _counted(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return getattr(self.inner, name)(*args, **kwargs)

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._counted("create", entity, payload, request_id=request_id)
        return result

    def update(
        self,
        entity: str,
        entity_id: str,
        sync_token: str,
        changes: Payload,
        *,
        request_id: str,
        reapply_on_conflict: bool = False,
    ) -> Payload:
        result: Payload = self._counted(
            "update",
            entity,
            entity_id,
            sync_token,
            changes,
            request_id=request_id,
            reapply_on_conflict=reapply_on_conflict,
        )
        return result

    def get(self, entity: str, qbo_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._counted("get", entity, qbo_id)
        return result

    def query(self, query: Query) -> Iterator[dict[str, Any]]:
        self.calls += 1  # one page; documents look-ups never need a second
        return self.inner.query(query)

    def void(self, entity: str, qbo_id: str, sync_token: str, *, request_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._counted(
            "void", entity, qbo_id, sync_token, request_id=request_id
        )
        return result

    def preferences(self) -> dict[str, Any]:
        return self.inner.preferences()

    def company_info(self) -> dict[str, Any]:
        return self.inner.company_info()

    def exchange_rate(self, currency: str, as_of: dt.date) -> Payload:
        rate: Payload = self._counted("exchange_rate", currency, as_of)
        return rate
