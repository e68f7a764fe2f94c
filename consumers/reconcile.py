"""`qbo.changes` → payment facts of our invoices, and `invoice.paid` via the outbox.

The path end to end: docs/architecture.md#a-payment-back-to-invoicepaid.

For an Invoice or Payment notice:
  0. a change already read costs nothing: the reconciler remembers the LastUpdatedTime it read
     of each Invoice and Payment (a Payment also when read with its only invoice), and a notice
     stamped with the same or an earlier one is Done("unchanged") without a QBO call (see
     `already_read`). Webhook retries, the CDC poller's overlap and a replay of `qbo.changes`
     therefore read each changed invoice once; a deleted Payment is acted on once;
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
     webhook retries, CDC and rescans of the same state add nothing. What was read (step 0)
     is recorded in the same transaction; a Payment notice's Payment once its invoices are.
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
from store.db import Database, Row, StoreUnavailable, Tx

__all__ = [
    "Applied",
    "Facts",
    "Reconciler",
    "already_read",
    "applied_to",
    "baseline",
    "changed",
    "consistent",
    "decide",
    "facts_of",
    "invoices_touched",
    "linked_payment_ids",
    "reads_of",
]

Status = Literal["unpaid", "partial", "paid"]
Clock = Callable[[], dt.datetime]
STRIPE_LINK = "stripe_payment_link"
READS = 3  # reads of an invoice whose Payments do not add up (see Reconciler._read)
SECOND = dt.timedelta(seconds=1)  # the resolution of QBO's LastUpdatedTime


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


# -- pure: what was read, and whether a notice's change was --------------------------------------


def already_read(notice: Mapping[str, Any], read: store.Read | None) -> bool:
    """Whether the change a notice announces was already read, so it costs no QBO call:
    - an entity read as gone (a deleted Payment or invoice) never changes again (QBO does not
      reuse ids);
    - otherwise a deletion is always acted on once, whatever its stamp;
    - a rescan's notice is stamped with the poller's clock, not QBO's: it was seen when our
      read began after it;
    - a notice stamped before the LastUpdatedTime we read was seen;
    - one stamped with it too (a webhook retry, a replay), except while our read began within
      that very second: LastUpdatedTime has whole seconds, so a second write in that second
      (a Payment deleted right after it was applied) carries the same stamp and is read once
      more, whichever way its notice came (webhook or CDC).
    A notice without a stamp is always read."""
    if read is None:
        return False
    if read.deleted:
        return True
    changed = notice.get("last_updated")
    if notice.get("operation") == "Delete" or not isinstance(changed, dt.datetime):
        return False
    if notice.get("source") == "RESCAN":
        return changed <= read.read_at
    if changed != read.last_updated:
        return changed < read.last_updated
    return read.read_at >= read.last_updated + SECOND


def reads_of(
    invoice: Mapping[str, Any], payments: Sequence[Mapping[str, Any]], read_at: dt.datetime
) -> list[store.Read]:
    """The invoice read, and the Payments read with it that link no other invoice: settling
    this invoice is all that a notice about one of them would do."""
    qbo_id = str(invoice["Id"])
    invoice_read = store.Read("Invoice", qbo_id, _updated_at(invoice, read_at), read_at)
    alone = [p for p in payments if invoices_touched(p) == [qbo_id]]
    return [
        invoice_read,
        *(store.Read("Payment", str(p["Id"]), _updated_at(p, read_at), read_at) for p in alone),
    ]


def _payment_read(
    payment_id: str,
    payment: Mapping[str, Any] | None,
    notice: Mapping[str, Any],
    read_at: dt.datetime,
) -> store.Read:
    if payment is not None:
        return store.Read("Payment", payment_id, _updated_at(payment, read_at), read_at)
    stamp = notice.get("last_updated")
    gone_at = stamp if isinstance(stamp, dt.datetime) else read_at
    return store.Read("Payment", payment_id, gone_at, read_at, deleted=True)


def _settled_by(
    tx: Tx, realm: str, qbo_invoice_id: str, reads: Sequence[store.Read]
) -> list[store.Read]:
    """The reads, less the Payments recorded as paying another invoice too: a notice about
    one of those must still settle the other invoice (the Payment no longer links it)."""
    return [
        r
        for r in reads
        if r.entity != "Payment"
        or set(store.invoices_paid_by(tx, realm, r.entity_id)) <= {qbo_invoice_id}
    ]


def _done(labels: set[str]) -> Done:
    return Done(labels.pop() if len(labels) == 1 else "mixed" if labels else "ignored")


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
            fresh = [o for o in ours if not self._seen(realm, "Invoice", o.qbo_invoice_id, notice)]
            if not fresh:
                return Done("unchanged" if ours else "ignored")
            client = self._client(fresh[0].account_id, realm)
            return _done({self._settle(client, realm, o) for o in fresh})
        if self._seen(realm, "Payment", entity_id, notice):
            return Done("unchanged")
        client = self._client(str(notice["account_id"]), realm)
        read_at = self.clock()
        payment = self._payment(client, entity_id)
        labels = {self._settle(client, realm, o) for o in self._touched(realm, payment, entity_id)}
        # Remembered once every invoice it touches is settled: a crash before re-reads it.
        self._remember(realm, [_payment_read(entity_id, payment, notice, read_at)])
        return _done(labels)

    def _ours(self, realm: str, qbo_ids: Iterable[str]) -> list[Ours]:
        with self.db.transaction() as tx:
            return [Ours.from_row(r) for r in store.invoices_of_ours(tx, realm, qbo_ids)]

    def _seen(self, realm: str, entity: str, entity_id: str, notice: Mapping[str, Any]) -> bool:
        """Whether the notice's change was already read (see `already_read`)."""
        with self.db.transaction() as tx:
            return already_read(notice, store.last_read(tx, realm, entity, entity_id))

    def _remember(self, realm: str, reads: Iterable[store.Read]) -> None:
        with self.db.transaction() as tx:
            store.save_reads(tx, realm, reads)

    def _client(self, account_id: str, realm: str) -> QboClient:
        client = self.clients(account_id)
        if client.realm_id != realm:
            raise _OtherRealm(realm)
        return client

    @staticmethod
    def _payment(client: QboClient, payment_id: str) -> dict[str, Any] | None:
        """The Payment, or None when deleted (only our records know what it paid then)."""
        try:
            return client.get("Payment", payment_id)
        except qbo_errors.NotFound:
            return None

    def _touched(
        self, realm: str, payment: Mapping[str, Any] | None, payment_id: str
    ) -> list[Ours]:
        """Our invoices the Payment links, and those we recorded as paid by it."""
        linked = invoices_touched(payment) if payment is not None else []
        with self.db.transaction() as tx:
            recorded = store.invoices_paid_by(tx, realm, payment_id)
        return self._ours(realm, _unique([*linked, *recorded]))

    def _settle(self, client: QboClient, realm: str, ours: Ours) -> str:
        read_at = self.clock()  # before the read: see already_read
        try:
            invoice, payments = self._read(client, ours.qbo_invoice_id)
        except qbo_errors.NotFound:  # deleted in QBO: nothing will pay it
            gone = store.Read("Invoice", ours.qbo_invoice_id, read_at, read_at, deleted=True)
            self._remember(realm, [gone])
            return "gone"
        reads = reads_of(invoice, payments, read_at)
        facts = facts_of(invoice, payments, self.clock())
        if facts is None:
            self._remember(realm, reads[:1])  # the invoice: no Payment applies to it
            return "zero_total"
        currency = ours.currency or (invoice.get("CurrencyRef") or {}).get("value") or ""
        return self._record(realm, ours, facts, currency, reads)

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

    def _record(
        self, realm: str, ours: Ours, facts: Facts, currency: str, reads: Sequence[store.Read]
    ) -> str:
        """Step 4: facts, a new version when the state changed, (when due) the outbox row and
        what was read, in one transaction."""
        reason = STRIPE_LINK if facts.status == "paid" and ours.stripe_payment_link else None
        with self.db.transaction() as tx:
            prior = store.recorded_facts(tx, realm, ours.qbo_invoice_id)
            store.save_facts(tx, _facts_row(realm, ours, facts, currency, reason))
            store.save_reads(tx, realm, _settled_by(tx, realm, ours.qbo_invoice_id, reads))
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
