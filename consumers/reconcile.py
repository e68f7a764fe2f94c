"""`qbo.changes` → payment facts of our invoices, and `invoice.paid` via the outbox.

The path end to end: docs/architecture.md#a-payment-back-to-invoicepaid.

For an Invoice or Payment notice:
  1. find the QBO invoices it may concern: the invoice itself; for a Payment, the invoices its
     lines link to (`Line[].LinkedTxn`, TxnType Invoice) plus those we recorded as paid by it
     (a deleted Payment can no longer be read; a voided one may no longer link them);
  2. keep those of ours: ledger rows of type invoice with that qbo_id in the realm. None left →
     Done("ignored");
  3. per invoice: read it and the Payments linked to it (the invoice again when they do not
     add up to what its Balance says: a Payment deleted between the reads); decide unpaid /
     partial / paid (pure);
  4. in one transaction: record the facts; when the payment state (status, amount paid, the
     Payments applied) differs from the last one recorded, record it as the invoice's next
     version, to be announced as `invoice.payment_status_changed`; for a paid invoice
     (TotalAmt > 0, Balance 0) without a Stripe payment link, queue invoice.paid in the outbox.
     The outbox is unique per (realm, invoice) and a version is added only for a change, so
     webhook retries, CDC and rescans of the same state add nothing.
The relay (consumers/outbox.py) publishes both. A crash before 4 commits redoes 1-4.
An invoice re-opened after its invoice.paid (Payment deleted or voided) gets a new version
(UNPAID or PARTIALLY_PAID), and PAID again when paid again, but no second invoice.paid.
An invoice with a Stripe payment link gets neither event: Sequence decides its payment. When QBO
shows it paid, its version is announced instead as a `paid_in_qbo_ignored` notice on
qbo.sync_status, so the merchant sees that the two systems disagree.
Versions follow the order the notices are handled in: `qbo.changes` is keyed by realm, so one
realm's notices are reconciled one after the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal

from consumers import outbox
from consumers.runtime.types import Done, Event, Failed, Outcome, Retry
from qbo import errors as qbo_errors
from qbo.client import ClientProvider, QboClient
from qbo.query import Query
from store import reconcile as store
from store.db import Database, Row, StoreUnavailable

__all__ = [
    "Applied",
    "Facts",
    "Reconciler",
    "applied_to",
    "baseline",
    "changed",
    "consistent",
    "decide",
    "facts_of",
    "invoices_touched",
    "linked_payment_ids",
]

Status = Literal["unpaid", "partial", "paid"]
Clock = Callable[[], dt.datetime]
STRIPE_LINK = "stripe_payment_link"
READS = 3  # reads of an invoice whose Payments do not add up (see Reconciler._read)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- pure: what a Payment touches, what an invoice's state is ----------------------------------


def _links(obj: Mapping[str, Any], txn_type: str) -> list[str]:
    lines = obj.get("Line") or []
    return [
        str(link["TxnId"])
        for line in lines
        for link in line.get("LinkedTxn") or []
        if link.get("TxnType") == txn_type and link.get("TxnId") is not None
    ]


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def invoices_touched(payment: Mapping[str, Any]) -> list[str]:
    """QBO invoice ids a Payment's lines link to, in order, once each (credit memos left out)."""
    return _unique(_links(payment, "Invoice"))


def linked_payment_ids(invoice: Mapping[str, Any]) -> list[str]:
    """Payment ids in an invoice's own (read-only) `LinkedTxn` list."""
    return _unique(
        str(link["TxnId"])
        for link in invoice.get("LinkedTxn") or []
        if link.get("TxnType") == "Payment" and link.get("TxnId") is not None
    )


def _money(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0))  # ints and Decimals from qbo._json


def applied_to(payment: Mapping[str, Any], qbo_invoice_id: str) -> Decimal:
    """What the Payment applies to the invoice: its lines linking it (a voided one has 0)."""
    total = Decimal(0)
    for line in payment.get("Line") or []:
        links = line.get("LinkedTxn") or []
        if any(
            lk.get("TxnType") == "Invoice" and str(lk.get("TxnId")) == qbo_invoice_id
            for lk in links
        ):
            total += _money(line.get("Amount"))
    return total


def consistent(invoice: Mapping[str, Any], payments: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the Payments apply exactly what the invoice's Balance says was paid."""
    total, balance = _money(invoice.get("TotalAmt")), _money(invoice.get("Balance"))
    applied = sum((applied_to(p, str(invoice["Id"])) for p in payments), Decimal(0))
    return applied == total - max(balance, Decimal(0))


def decide(total: Decimal, balance: Decimal) -> Status | None:
    """paid: nothing left to pay; partial: some paid; None: a zero (or voided) invoice."""
    if total <= 0:
        return None
    if balance <= 0:
        return "paid"
    return "partial" if balance < total else "unpaid"


@dataclass(frozen=True)
class Applied:
    """A Payment applying money to the invoice: its Id, TxnDate and the amount applied."""

    payment_id: str
    txn_date: dt.date | None
    amount: Decimal


@dataclass(frozen=True)
class Facts:
    """An invoice's payment state as QBO reports it."""

    status: Status
    total: Decimal
    amount_paid: Decimal
    paid_at: dt.date | None
    payment_ids: tuple[str, ...]
    updated_at: dt.datetime  # the invoice's MetaData.LastUpdatedTime
    payments: tuple[Applied, ...] = ()  # in payment_ids' order

    @property
    def balance(self) -> Decimal:
        return self.total - self.amount_paid


def _txn_date(payment: Mapping[str, Any]) -> dt.date | None:
    return dt.date.fromisoformat(str(payment["TxnDate"])) if payment.get("TxnDate") else None


def _updated_at(obj: Mapping[str, Any], read_at: dt.datetime) -> dt.datetime:
    stamp = (obj.get("MetaData") or {}).get("LastUpdatedTime")
    parsed = dt.datetime.fromisoformat(stamp) if stamp else read_at
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def facts_of(
    invoice: Mapping[str, Any], payments: Sequence[Mapping[str, Any]], read_at: dt.datetime
) -> Facts | None:
    """The facts, from the invoice and the Payments linked to it; None for a zero invoice.
    paid_at is the TxnDate of the latest Payment applying money to it, or (none found) the
    date QBO last changed the invoice (`read_at` when QBO did not say)."""
    total, balance = _money(invoice.get("TotalAmt")), _money(invoice.get("Balance"))
    status = decide(total, balance)
    if status is None:
        return None
    qbo_id = str(invoice["Id"])
    applying = {str(p["Id"]): p for p in payments if applied_to(p, qbo_id) > 0}
    dates = [d for p in applying.values() if (d := _txn_date(p)) is not None]
    updated = _updated_at(invoice, read_at)
    paid_at = max(dates) if dates else (updated.date() if status == "paid" else None)
    ids = tuple(sorted(applying, key=lambda i: (len(i), i)))
    applied = tuple(
        Applied(i, _txn_date(applying[i]), applied_to(applying[i], qbo_id)) for i in ids
    )
    paid = total - max(balance, Decimal(0))
    return Facts(status, total, paid, paid_at, ids, updated, applied)


def payments_json(facts: Facts) -> list[dict[str, Any]]:
    """The Payments applied, as stored with a version (exact decimal strings, ISO dates)."""
    return [
        {
            "qbo_payment_id": p.payment_id,
            "txn_date": p.txn_date.isoformat() if p.txn_date else None,
            "amount": f"{p.amount:f}",
        }
        for p in facts.payments
    ]


def baseline(prior: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The state recorded before an invoice had versions (facts saved before migration 0011),
    in the shape of a version: a Payment deleted from an invoice paid back then is a change."""
    if prior is None:
        return None
    return {
        "status": prior["status"],
        "amount_paid": prior["amount_paid"],
        "payments": [{"qbo_payment_id": i} for i in prior["qbo_payment_ids"]],
    }


def changed(last: Mapping[str, Any] | None, facts: Facts) -> bool:
    """Whether `facts` is a new payment state: its status, amount paid or Payments differ from
    the last recorded one. Before any, an invoice is unpaid with nothing applied, so a first
    read of an unpaid invoice is no change."""
    if last is None:
        return facts.status != "unpaid" or facts.amount_paid != 0 or bool(facts.payment_ids)
    ids = [p["qbo_payment_id"] for p in last["payments"]]
    return (
        last["status"] != facts.status
        or Decimal(last["amount_paid"]) != facts.amount_paid
        or ids != list(facts.payment_ids)
    )


# -- the handler --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ours:
    """A QBO invoice the sync created: its ledger row's facts."""

    account_id: str
    invoice_id: str
    qbo_invoice_id: str
    number: str | None
    currency: str | None
    stripe_payment_link: bool

    @classmethod
    def from_row(cls, row: Row) -> Ours:
        return cls(**{f.name: row[f.name] for f in fields(cls)})


class _OtherRealm(Exception):
    """The account's connection is now to another realm: the notice is stale."""


class Reconciler:
    event = "qbo.changes"

    def __init__(self, db: Database, clients: ClientProvider, clock: Clock = _utcnow) -> None:
        self.db, self.clients, self.clock = db, clients, clock

    def handle(self, event: Event) -> Outcome:
        notice = event.value
        if notice.get("entity") not in ("Invoice", "Payment"):
            return Done("ignored")
        try:
            return self._reconcile(notice)
        except _OtherRealm:
            return Done("ignored")
        except qbo_errors.Retryable as exc:
            return Retry(str(exc), after=exc.retry_after or 1.0)
        except qbo_errors.AuthError as exc:  # nothing to read until the merchant reconnects
            return Failed("qbo_not_connected", str(exc))
        except StoreUnavailable as exc:
            return Retry(f"database unavailable: {exc}", after=2.0)

    def _reconcile(self, notice: Mapping[str, Any]) -> Outcome:
        realm, entity_id = str(notice["realm_id"]), str(notice["entity_id"])
        if notice["entity"] == "Invoice":
            ours = self._ours(realm, [entity_id])
            fresh = [o for o in ours if self._newer(realm, o, notice)]
            if not fresh:
                return Done("unchanged" if ours else "ignored")
            client = self._client(fresh[0].account_id, realm)
        else:
            client = self._client(str(notice["account_id"]), realm)
            fresh = self._ours(realm, self._touched(client, realm, entity_id))
        labels = {self._settle(client, realm, o) for o in fresh}
        return Done(labels.pop() if len(labels) == 1 else "mixed" if labels else "ignored")

    def _ours(self, realm: str, qbo_ids: Iterable[str]) -> list[Ours]:
        with self.db.transaction() as tx:
            return [Ours.from_row(r) for r in store.invoices_of_ours(tx, realm, qbo_ids)]

    def _newer(self, realm: str, ours: Ours, notice: Mapping[str, Any]) -> bool:
        """False when we already read the invoice as of a later change: a webhook retry or a
        CDC overlap costs no QBO call. Strictly later, as LastUpdatedTime has whole seconds."""
        with self.db.transaction() as tx:
            read = store.last_read(tx, realm, ours.qbo_invoice_id)
        changed = notice.get("last_updated")
        return read is None or not isinstance(changed, dt.datetime) or changed >= read

    def _client(self, account_id: str, realm: str) -> QboClient:
        client = self.clients(account_id)
        if client.realm_id != realm:
            raise _OtherRealm(realm)
        return client

    def _touched(self, client: QboClient, realm: str, payment_id: str) -> list[str]:
        try:
            linked = invoices_touched(client.get("Payment", payment_id))
        except qbo_errors.NotFound:  # deleted: only our records know what it paid
            linked = []
        with self.db.transaction() as tx:
            recorded = store.invoices_paid_by(tx, realm, payment_id)
        return _unique([*linked, *recorded])

    def _settle(self, client: QboClient, realm: str, ours: Ours) -> str:
        try:
            invoice, payments = self._read(client, ours.qbo_invoice_id)
        except qbo_errors.NotFound:
            return "gone"  # deleted in QBO: nothing will pay it
        facts = facts_of(invoice, payments, self.clock())
        if facts is None:
            return "zero_total"
        currency = ours.currency or (invoice.get("CurrencyRef") or {}).get("value") or ""
        return self._record(realm, ours, facts, currency)

    def _read(
        self, client: QboClient, qbo_invoice_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The invoice and its Payments as of one moment. They are two reads: a Payment deleted
        or voided between them leaves an invoice still paid by Payments that no longer apply
        anything, a state that never was. Then the invoice is read again (QBO re-opens it in
        the same change), at most READS times; a mismatch that lasts is QBO's own answer."""
        for _ in range(READS):
            invoice = client.get("Invoice", qbo_invoice_id)
            payments = self._payments(client, invoice)
            if consistent(invoice, payments):
                break
        return invoice, payments

    def _payments(self, client: QboClient, invoice: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Payments linked to the invoice; when its LinkedTxn names none although money
        was applied, the customer's Payments that link it."""
        ids = linked_payment_ids(invoice)
        if ids:
            return list(client.query(Query("Payment").where("Id", "IN", tuple(ids))))
        if _money(invoice.get("Balance")) >= _money(invoice.get("TotalAmt")):
            return []
        customer = str((invoice.get("CustomerRef") or {}).get("value", ""))
        found = client.query(Query("Payment").where("CustomerRef", "=", customer))
        return [p for p in found if applied_to(p, str(invoice["Id"])) > 0]

    def _record(self, realm: str, ours: Ours, facts: Facts, currency: str) -> str:
        """Step 4: facts, a new version when the state changed and (when due) the outbox row,
        in one transaction."""
        reason = STRIPE_LINK if facts.status == "paid" and ours.stripe_payment_link else None
        with self.db.transaction() as tx:
            prior = store.recorded_facts(tx, realm, ours.qbo_invoice_id)
            store.save_facts(tx, _facts_row(realm, ours, facts, currency, reason))
            last = store.latest_payment_state(tx, realm, ours.qbo_invoice_id)
            if changed(last or baseline(prior), facts):
                version = (last["version"] if last else 0) + 1
                store.add_payment_state(tx, _state_row(realm, ours, facts, currency, version))
            if facts.status != "paid" or reason is not None:
                return reason or facts.status
            added = store.add_invoice_paid(tx, _paid_event(realm, ours, facts, currency))
        return "paid" if added else "already_paid"


def _facts_row(
    realm: str, ours: Ours, facts: Facts, currency: str, reason: str | None
) -> dict[str, Any]:
    return {
        "realm_id": realm,
        "qbo_invoice_id": ours.qbo_invoice_id,
        "account_id": ours.account_id,
        "invoice_id": ours.invoice_id,
        "status": facts.status,
        "currency": currency,
        "total_amount": facts.total,
        "amount_paid": facts.amount_paid,
        "paid_at": facts.paid_at,
        "qbo_payment_ids": list(facts.payment_ids),
        "no_event_reason": reason,
        "qbo_updated_at": facts.updated_at,
    }


def _announce(ours: Ours, facts: Facts) -> str | None:
    """What a new version announces: the contract's event, or for a Stripe-link invoice (whose
    payment Sequence decides) the notice that QBO shows it paid, and nothing otherwise."""
    if not ours.stripe_payment_link:
        return "payment_status_changed"
    return "paid_in_qbo_ignored" if facts.status == "paid" else None


def _state_row(realm: str, ours: Ours, facts: Facts, currency: str, version: int) -> dict[str, Any]:
    return {
        "event_id": outbox.payment_state_event_id(realm, ours.qbo_invoice_id, version),
        "realm_id": realm,
        "qbo_invoice_id": ours.qbo_invoice_id,
        "version": version,
        "account_id": ours.account_id,
        "invoice_id": ours.invoice_id,
        "invoice_number": ours.number,
        "currency": currency,
        "status": facts.status,
        "total_amount": facts.total,
        "amount_paid": facts.amount_paid,
        "balance": facts.balance,
        "payments": payments_json(facts),
        "announce": _announce(ours, facts),
        "occurred_at": facts.updated_at,
    }


def _paid_event(realm: str, ours: Ours, facts: Facts, currency: str) -> dict[str, Any]:
    return {
        "event_id": outbox.event_id(realm, ours.qbo_invoice_id),
        "realm_id": realm,
        "qbo_invoice_id": ours.qbo_invoice_id,
        "account_id": ours.account_id,
        "invoice_id": ours.invoice_id,
        "invoice_number": ours.number,
        "currency": currency,
        "amount_paid": facts.amount_paid,
        "paid_at": facts.paid_at,
        "qbo_payment_ids": list(facts.payment_ids),
        "occurred_at": facts.updated_at,
    }
