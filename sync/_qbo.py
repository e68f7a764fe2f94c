"""QBO errors become service errors here, and only here; plus the few reads
every service shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from qbo import errors
from qbo.build_failure import BuildFailure
from qbo.client import ClientProvider, QboClient
from qbo.query import Query
from sync.errors import Conflict, Invalid, NotConnected, NotFound, Unavailable

T = TypeVar("T")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Runs a QBO conversation; `what` completes "QBO could not …" in messages."""
    try:
        yield
    except errors.Retryable as exc:
        raise Unavailable(
            "qbo_unavailable",
            f"QBO could not {what} now, try again later: {exc}",
            retry_after=exc.retry_after,
        ) from exc
    except errors.ReauthRequired as exc:
        raise NotConnected("reauth_required", f"the QBO connection must be renewed: {exc}") from exc
    except errors.NotConnected as exc:
        raise NotConnected("not_connected", f"the account is not connected to QBO: {exc}") from exc
    except errors.ConfigError as exc:
        raise NotConnected("qbo_not_configured", f"QBO access is not set up: {exc}") from exc
    except errors.AuthError as exc:
        raise NotConnected("qbo_auth_failed", f"QBO refused our credentials: {exc}") from exc
    except errors.DuplicateName as exc:
        # Callers enrich this with the existing record (services._duplicates).
        raise Conflict("duplicate_name", f"QBO could not {what}: the name is taken: {exc}") from exc
    except errors.NotFound as exc:
        raise NotFound("qbo_object_not_found", f"QBO could not {what}: {exc}") from exc
    except errors.QboError as exc:
        raise Invalid("qbo_rejected", f"QBO refused to {what}: {exc}", code=exc.code) from exc


def get(client: QboClient, entity: str, entity_id: str, reason: str) -> dict[str, Any]:
    """The entity, or `NotFound(reason)` naming it."""
    try:
        with translated(f"read {entity} {entity_id}"):
            return client.get(entity, entity_id)
    except NotFound as exc:
        raise NotFound(
            reason,
            f"QBO {entity} {entity_id} does not exist in realm {client.realm_id}",
            **{entity.lower() + "_id": entity_id},
        ) from exc


def find(client: QboClient, query: Query, limit: int = 20) -> list[dict[str, Any]]:
    """At most `limit` rows of one query page."""
    with translated(f"search {query.entity}"):
        rows = client.call(
            "POST",
            "query",
            data=query.select(start=1, max_results=limit),
            content_type="application/text",
        )
    found: list[dict[str, Any]] = (rows.get("QueryResponse") or {}).get(query.entity, [])
    return found


@dataclass(frozen=True)
class Currency:
    multi_currency: bool
    home: str


def currency(client: QboClient) -> Currency:
    """The realm's multi-currency switch and home currency (Preferences, cached by the client)."""
    with translated("read the company preferences"):
        prefs = client.preferences().get("CurrencyPrefs") or {}
    home = (prefs.get("HomeCurrency") or {}).get("value") or "USD"
    return Currency(bool(prefs.get("MultiCurrencyEnabled", False)), str(home))


def ref(obj: dict[str, Any], name: str) -> str | None:
    value = (obj.get(name) or {}).get("value")
    return None if value is None else str(value)


def build(make: Callable[[], T]) -> T:
    """Runs a pure payload builder; its `BuildFailure` becomes `Invalid` with the same reason."""
    try:
        return make()
    except BuildFailure as exc:
        raise Invalid(str(exc.reason_code), exc.message) from exc


def summary(obj: dict[str, Any]) -> dict[str, Any]:
    """The few fields of a QBO name-list object people need to recognise it."""
    if not obj:
        return {}
    return {
        "id": obj.get("Id"),
        "name": obj.get("DisplayName") or obj.get("Name"),
        "company_name": obj.get("CompanyName"),
        "email": (obj.get("PrimaryEmailAddr") or {}).get("Address"),
        "currency": ref(obj, "CurrencyRef"),
        "active": obj.get("Active", True),
    }


def client_for(clients: ClientProvider, account_id: str) -> QboClient:
    """The account's client; a missing or dead connection becomes `NotConnected`."""
    with translated(f"connect account {account_id}"):
        return clients(account_id)
