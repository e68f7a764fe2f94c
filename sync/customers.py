"""Link a Sequence customer to a QBO customer, suggest candidates, or create one.

The rules: docs/qbo-mapping.md#customers.

Every successful link (whatever its origin) re-syncs the customer's documents that failed
with `customer_not_linked`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qbo import customer as builder
from qbo import requestids
from qbo.client import QboClient
from schemas.models import Customer
from store import customers as snapshots
from store import links
from store.db import Database
from store.links import Link, Queries
from sync import _duplicates, _qbo
from sync.errors import Conflict, Invalid, NotFound
from sync.publish import Publishing
from sync.resync import resync_waiting_for_customer

__all__ = [
    "LinkResult",
    "create_customer",
    "create_from_snapshot",
    "link_customer",
    "stored_customer",
]


@dataclass(frozen=True)
class LinkResult:
    link: Link
    resynced: list[str] = field(default_factory=list)  # documents asked to sync again
    qbo_customer: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "link": self.link.as_dict(),
            "resynced": self.resynced,
            "qbo_customer": _qbo.summary(self.qbo_customer),
        }


def stored_customer(db: Database, account_id: str, customer_id: str) -> tuple[Customer, str]:
    """The latest Sequence snapshot (from `customer.updated`) and its hash."""
    row = snapshots.get_snapshot(db, account_id, customer_id)
    if row is None:
        raise NotFound(
            "customer_not_found",
            f"no snapshot of Sequence customer {customer_id} "
            f"in account {account_id} has arrived yet (customer.updated)",
            customer_id=customer_id,
        )
    return Customer.model_validate(row["snapshot"]), row["snapshot_hash"]


def link_customer(
    db: Database,
    client: QboClient,
    pub: Publishing | None,
    account_id: str,
    customer_id: str,
    qbo_customer_id: str,
    *,
    expected_currency: str | None = None,
) -> LinkResult:
    """Links to an existing QBO customer by id. `expected_currency`: the currency the merchant
    expects (multi-currency realms); a QBO customer in another one is refused.

    The QBO customer is kept as the merchant chose it: the link records the hash of the
    Sequence snapshot stored now as already synced, so neither a redelivery nor a replay of
    that snapshot (even one consumed before the link) writes to QBO; the next change made in
    Sequence is pushed."""
    found = _qbo.get(client, "Customer", qbo_customer_id, "qbo_customer_not_found")
    if found.get("Active") is False:
        raise Invalid(
            "qbo_customer_inactive",
            f"QBO customer {qbo_customer_id} "
            f"({found.get('DisplayName')}) is inactive; reactivate it in QBO first",
        )
    currency = _qbo.ref(found, "CurrencyRef") or _qbo.currency(client).home
    if expected_currency and expected_currency.upper() != currency:
        raise Invalid(
            "currency_mismatch",
            f"QBO customer {qbo_customer_id} bills in {currency}, "
            f"not {expected_currency.upper()}; its currency cannot change",
            qbo_currency=currency,
            expected_currency=expected_currency.upper(),
        )
    link = Link(
        account_id,
        customer_id,
        client.realm_id,
        qbo_customer_id,
        found["SyncToken"],
        currency,
        _stored_hash(db, account_id, customer_id),
        "link",
    )
    return _store(db, pub, link, found)


def _stored_hash(db: Database, account_id: str, customer_id: str) -> str | None:
    """The hash of the stored snapshot; None when none has arrived (the first one is pushed)."""
    row = snapshots.get_snapshot(db, account_id, customer_id)
    return None if row is None else str(row["snapshot_hash"])


def create_customer(
    db: Database,
    client: QboClient,
    pub: Publishing | None,
    account_id: str,
    customer_id: str,
    *,
    currency: str | None = None,
) -> LinkResult:
    """Creates the QBO customer from the stored snapshot and links it. In a multi-currency
    realm `currency` is required (QBO fixes a customer's currency once it has transactions)."""
    customer, snapshot_hash = stored_customer(db, account_id, customer_id)
    return create_from_snapshot(
        db, client, pub, account_id, customer, snapshot_hash, currency=currency, origin="create"
    )


def create_from_snapshot(
    db: Queries,
    client: QboClient,
    pub: Publishing | None,
    account_id: str,
    customer: Customer,
    snapshot_hash: str,
    *,
    currency: str | None,
    origin: str,
    attempt: str = "",
) -> LinkResult:
    """`attempt`: set when an earlier create was refused for good (the requestid changes, or
    QBO would answer this one with that refusal)."""
    _refuse_if_linked(db, account_id, customer.id, client.realm_id)
    chosen = _currency_for_create(client, currency)
    created = _create(client, account_id, customer, snapshot_hash, chosen, attempt)
    link = Link(
        account_id,
        customer.id,
        client.realm_id,
        created["Id"],
        created["SyncToken"],
        _qbo.ref(created, "CurrencyRef") or _qbo.currency(client).home,
        snapshot_hash,
        origin,
    )
    return _store(db, pub, link, created)


def _refuse_if_linked(db: Queries, account_id: str, customer_id: str, realm_id: str) -> None:
    existing = links.get(db, account_id, customer_id, realm_id=realm_id)
    if existing is not None:
        raise Conflict(
            "already_linked",
            f"Sequence customer {customer_id} is already linked "
            f"to QBO customer {existing.qbo_customer_id}",
            link=existing.as_dict(),
        )


def _currency_for_create(client: QboClient, currency: str | None) -> str | None:
    """CurrencyRef to send: None in a single-currency realm (QBO uses the home currency)."""
    prefs = _qbo.currency(client)
    wanted = currency.upper() if currency else None
    if prefs.multi_currency and wanted is None:
        raise Invalid(
            "currency_required",
            "multi-currency is on in this QBO company: choose "
            f"the customer's currency (home currency {prefs.home}); it cannot change "
            "once the customer has transactions",
            home_currency=prefs.home,
        )
    if not prefs.multi_currency and wanted not in (None, prefs.home):
        raise Invalid(
            "multicurrency_off",
            f"this QBO company bills only in {prefs.home} "
            f"(multi-currency is off), so a {wanted} customer cannot be created",
            home_currency=prefs.home,
        )
    return wanted if prefs.multi_currency else None


def _create(
    client: QboClient,
    account_id: str,
    customer: Customer,
    snapshot_hash: str,
    currency: str | None,
    attempt: str = "",
) -> dict[str, Any]:
    payload = _qbo.build(lambda: builder.build_customer(customer, currency=currency))
    parts = ["customer-create", account_id, customer.id, snapshot_hash, currency or ""]
    request_id = requestids.make(*parts, *([attempt] if attempt else []))
    try:
        with _qbo.translated(f"create customer {payload['DisplayName']!r}"):
            return client.create("Customer", payload, request_id=request_id)
    except Conflict as exc:
        if exc.reason != "duplicate_name":
            raise
        raise _duplicates.customer_name_taken(client, payload["DisplayName"]) from exc


def _store(
    db: Queries, pub: Publishing | None, link: Link, qbo_customer: dict[str, Any]
) -> LinkResult:
    if not links.insert(db, link):
        link = _existing_same_link(db, link)
        return LinkResult(link, [], qbo_customer)  # linking twice is a no-op, not an error
    if pub is None:  # no broker at hand: `sequence-qbo resync` picks the documents up later
        return LinkResult(link, [], qbo_customer)
    resynced = resync_waiting_for_customer(db, pub, link.account_id, link.customer_id)
    return LinkResult(link, resynced, qbo_customer)


def _existing_same_link(db: Queries, link: Link) -> Link:
    mine = links.get(db, link.account_id, link.customer_id, realm_id=link.realm_id)
    if mine is not None and mine.qbo_customer_id == link.qbo_customer_id:
        return mine
    if mine is not None:
        raise Conflict(
            "already_linked",
            f"Sequence customer {link.customer_id} is already "
            f"linked to QBO customer {mine.qbo_customer_id}",
            link=mine.as_dict(),
        )
    other = links.by_qbo_customer(db, link.account_id, link.realm_id, link.qbo_customer_id)
    raise Conflict(
        "qbo_customer_already_linked",
        f"QBO customer {link.qbo_customer_id} is "
        f"already linked to Sequence customer {other.customer_id if other else '?'}",
        link=other.as_dict() if other else None,
    )
