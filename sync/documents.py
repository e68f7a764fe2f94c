"""Syncing one Sequence invoice or credit note to QBO, exactly once (PRODUCT.md §3, §6, §8).

For every document, in one database transaction holding the document's advisory lock:
  1. store the snapshot in the ledger (an event older than the stored snapshot changes nothing);
  2. build the QBO payload from the snapshot and the account's context (pure builders); a
     business problem is recorded as `failed` with its reason code and nothing is sent;
  3. a payload identical to the one QBO already holds is skipped: no QBO call;
  4. find the QBO object: the ledger's id, else a look-up by DocNumber and customer or by the
     PrivateNote marker (requestid alone is reported unreliable) — found means adopted;
  5. create it (with a deterministic requestid) or update it in place (Id + SyncToken; on a
     stale SyncToken re-read and re-apply once);
  6. record it synced, commit, then publish `qbo.sync_status`.
A crash between 5 and 6 leaves QBO ahead of the ledger; the replay finds the object in step 4.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from qbo import company as company_mod
from qbo import errors as qbo_errors
from qbo import invoice as builder
from qbo import requestids
from qbo.query import Query
from schemas.models import CreditNote, Invoice
from store import ledger, sync_context
from store.db import Database, Row, Tx
from store.ledger import DocKey, DocumentType
from sync.qbo_api import ClientProvider, CountingApi

Doc = Invoice | CreditNote
_ENTITY = {DocumentType.INVOICE: "Invoice", DocumentType.CREDIT_NOTE: "CreditMemo"}


@dataclass(frozen=True)
class SyncResult:
    outcome: Literal["created", "updated", "adopted", "unchanged", "failed", "voided", "stale"]
    reason_code: str | None = None
    message: str | None = None
    qbo_id: str | None = None
    qbo_calls: int = 0


class Waiting(Exception):
    """The document depends on another that is not synced yet (retry later)."""


class CustomerNotLinked(Exception):
    """Raised by an `ensure_customer` hook when it cannot link the customer."""


# (tx, client, account_id, document) → (qbo_customer_id, currency) or raises CustomerNotLinked;
# set when auto_create_customers may create the QBO customer.
EnsureCustomer = Callable[[Tx, Any, str, Doc], tuple[str, str | None]]
StatusSink = Callable[[DocKey, SyncResult, str | None], None]


class DocumentSync:
    def __init__(
        self,
        db: Database,
        clients: ClientProvider,
        *,
        status: StatusSink | None = None,
        ensure_customer: EnsureCustomer | None = None,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.db = db
        self.clients = clients
        self.status = status
        self.ensure_customer = ensure_customer
        self.today = today

    def sync(
        self, account_id: str, doc: Doc, occurred_at: dt.datetime, *, force: bool = False
    ) -> SyncResult:
        key = DocKey(account_id, _doc_type(doc), doc.id)
        api = self._api(account_id)
        with self.db.transaction() as tx:
            ledger.lock(tx, key)
            snapshot = doc.model_dump(mode="json")
            stored = ledger.receive(
                tx,
                key,
                customer_id=doc.customer_id,
                snapshot=snapshot,
                snapshot_hash=builder.payload_hash(snapshot),
                occurred_at=occurred_at,
            )
            row = ledger.get(tx, key)
            assert row is not None  # written or already there, under our lock
            if not stored and row["snapshot_hash"] != builder.payload_hash(snapshot):
                return SyncResult("stale")  # an older event than the ledger's snapshot
            if not stored and row["status"] in ("synced", "voided") and not force:
                # A replay or redelivery of what QBO already holds: no QBO call at all. (A
                # mapping changed since? `sequence-qbo resync` forces a rebuild.)
                ledger.record_attempt(tx, key, outcome="skipped")
                return SyncResult("unchanged", qbo_id=row["qbo_id"])
            result = self._sync_connected(tx, key, api, doc, row, force)
        self._publish(key, result, api.realm_id if isinstance(api, CountingApi) else None)
        return result

    def _api(self, account_id: str) -> CountingApi | qbo_errors.AuthError:
        try:
            return CountingApi(self.clients(account_id))
        except qbo_errors.AuthError as exc:  # not connected, or needs re-authorization
            return exc

    def _sync_connected(
        self,
        tx: Tx,
        key: DocKey,
        api: CountingApi | qbo_errors.AuthError,
        doc: Doc,
        row: Row,
        force: bool,
    ) -> SyncResult:
        """Nothing can reach QBO until the merchant (re)connects: recorded as failed, and
        `sequence-qbo resync` sends it once they have."""
        if isinstance(api, qbo_errors.AuthError):
            return self._fail(tx, key, None, "qbo_not_connected", str(api))
        try:
            return self._sync_locked(tx, key, api, doc, row, force)
        except qbo_errors.AuthError as exc:
            return self._fail(tx, key, api, "qbo_not_connected", str(exc))

    def resync(self, account_id: str, document_type: DocumentType, sequence_id: str) -> SyncResult:
        """Syncs the ledger's latest snapshot again (manual re-sync, or after linking)."""
        key = DocKey(account_id, document_type, sequence_id)
        with self.db.transaction() as tx:
            row = ledger.get(tx, key)
        if row is None or row["snapshot"] is None:
            raise LookupError(f"no {document_type} {sequence_id} in account {account_id}")
        model = Invoice if document_type is DocumentType.INVOICE else CreditNote
        doc = model.model_validate(row["snapshot"])
        return self.sync(account_id, doc, row["snapshot_occurred_at"], force=True)

    def void(self, account_id: str, invoice: Invoice) -> SyncResult:
        """Voids the QBO invoice of a Sequence invoice (invoice.voided)."""
        key = DocKey(account_id, DocumentType.INVOICE, invoice.id)
        api = self._api(account_id)
        if isinstance(api, qbo_errors.AuthError):
            raise api
        with self.db.transaction() as tx:
            ledger.lock(tx, key)
            row = ledger.get(tx, key)
            if row is None or (row["status"] == "pending" and not row["qbo_id"]):
                raise Waiting(f"void of invoice {invoice.id} waits for the invoice to be synced")
            result = self._void_locked(tx, key, api, row)
        self._publish(key, result, api.realm_id)
        return result

    def _void_locked(self, tx: Tx, key: DocKey, api: CountingApi, row: Row) -> SyncResult:
        if row["status"] == "voided":
            ledger.record_attempt(tx, key, outcome="skipped")
            return SyncResult("unchanged", qbo_id=row["qbo_id"])
        token = row["qbo_sync_token"]
        if row["qbo_id"]:  # a document that never reached QBO has nothing to void there
            rid = requestids.make(key.account_id, "invoice", key.sequence_id, "void")
            try:
                token = api.void("Invoice", row["qbo_id"], token, request_id=rid)["SyncToken"]
            except qbo_errors.Conflict:  # edited in QBO since our last write
                fresh = api.get("Invoice", row["qbo_id"])["SyncToken"]
                token = api.void(
                    "Invoice",
                    row["qbo_id"],
                    fresh,
                    request_id=requestids.derive(rid, f"sync{fresh}"),
                )["SyncToken"]
        ledger.mark_voided(tx, key, sync_token=str(token) if token else "")
        ledger.record_attempt(tx, key, outcome="voided", qbo_calls=api.calls)
        return SyncResult("voided", qbo_id=row["qbo_id"], qbo_calls=api.calls)

    def _sync_locked(
        self, tx: Tx, key: DocKey, api: CountingApi, doc: Doc, row: Row, force: bool
    ) -> SyncResult:
        if isinstance(doc, CreditNote):
            waiting = _invoice_not_synced(tx, key.account_id, doc)
            if waiting:
                return self._fail(tx, key, api, "invoice_not_synced", waiting)
        try:
            payload, rate = self._build(tx, key, api, doc, row)
        except builder.BuildFailure as exc:
            return self._fail(tx, key, api, str(exc.reason_code), exc.message)
        except CustomerNotLinked as exc:
            return self._fail(tx, key, api, "customer_not_linked", str(exc))
        digest = builder.payload_hash(payload)
        if row["status"] == "synced" and row["payload_hash"] == digest and not force:
            ledger.record_attempt(tx, key, outcome="skipped", qbo_calls=api.calls)
            return SyncResult("unchanged", qbo_id=row["qbo_id"], qbo_calls=api.calls)
        try:
            outcome, saved, request_id = self._write(key, api, doc, row, payload, digest)
        except qbo_errors.Validation as exc:
            return self._fail(tx, key, api, "qbo_validation", _fault_text(exc))
        ledger.mark_synced(
            tx,
            key,
            realm_id=api.realm_id,
            qbo_id=str(saved["Id"]),
            sync_token=str(saved["SyncToken"]),
            payload_hash=digest,
            request_id=request_id,
            exchange_rate=rate,
        )
        ledger.record_attempt(tx, key, outcome="synced", qbo_calls=api.calls)
        return SyncResult(outcome, qbo_id=str(saved["Id"]), qbo_calls=api.calls)

    # -- step 2: the payload -------------------------------------------------------------------
    def _build(
        self, tx: Tx, key: DocKey, api: CountingApi, doc: Doc, row: Row
    ) -> tuple[dict[str, Any], Decimal | None]:
        company = company_mod.company_facts(api.preferences(), api.company_info())
        customer_id, customer_currency = self._customer(tx, api, key.account_id, doc)
        rate = self._rate(api, doc, company, row)
        ctx = _context(tx, key.account_id, doc, company, customer_id, customer_currency, rate)
        try:
            return _build_payload(doc, ctx), rate
        except builder.BuildFailure as exc:
            if str(exc.reason_code) != "tax_code_missing":
                raise
        # Last rule of the tax chain: the QBO customer's own default (one read, only when
        # nothing else applied).
        customer = api.get("Customer", customer_id)
        default = (customer.get("DefaultTaxCodeRef") or {}).get("value")
        ctx = _replace(ctx, qbo_customer_default_tax_code=default)
        return _build_payload(doc, ctx), rate

    def _customer(
        self, tx: Tx, api: CountingApi, account_id: str, doc: Doc
    ) -> tuple[str, str | None]:
        link = sync_context.link(tx, account_id, doc.customer_id)
        if link is not None:
            return link["qbo_customer_id"], link["currency"]
        if self.ensure_customer is None:
            raise CustomerNotLinked(
                f"Sequence customer {doc.customer_id} "
                f"({doc.customer.legal_name}) is not linked to a QBO customer"
            )
        return self.ensure_customer(tx, api, account_id, doc)

    def _rate(
        self, api: CountingApi, doc: Doc, company: builder.Company, row: Row
    ) -> Decimal | None:
        if doc.currency == company.home_currency or not company.multi_currency_enabled:
            return None
        if row["exchange_rate"] is not None:
            return Decimal(row["exchange_rate"])  # recorded at first sync: replays reuse it
        return Decimal(str(api.exchange_rate(doc.currency, self.today())["Rate"]))

    # -- steps 4 and 5: find, create or update ---------------------------------------------------
    def _write(
        self,
        key: DocKey,
        api: CountingApi,
        doc: Doc,
        row: Row,
        payload: dict[str, Any],
        digest: str,
    ) -> tuple[Any, dict[str, Any], str]:
        entity = _ENTITY[key.document_type]
        existing = _ref(row)
        if existing is None and ledger.create_attempted(self.db, key):
            # An earlier attempt may have created it and died before our commit: look first
            # (requestid alone is reported unreliable).
            existing = self._find(api, entity, key, doc, payload)
        if existing is None:
            rid = requestids.make(
                key.account_id, str(key.document_type), key.sequence_id, digest, "create"
            )
            ledger.record_create_intent(self.db, key, rid)
            return "created", api.create(entity, payload, request_id=rid), rid
        rid = requestids.make(
            key.account_id, str(key.document_type), key.sequence_id, digest, "update"
        )
        outcome = "updated" if _ref(row) else "adopted"
        return outcome, self._update(api, entity, existing, payload, rid), rid

    def _update(
        self,
        api: CountingApi,
        entity: str,
        existing: tuple[str, str],
        payload: dict[str, Any],
        rid: str,
    ) -> dict[str, Any]:
        qbo_id, token = existing
        # A sparse update carrying every field we own (and all lines, which replaces them); on
        # 5010 someone edited it in QBO meanwhile: re-read the SyncToken and re-apply ours.
        return api.update(entity, qbo_id, token, payload, request_id=rid, reapply_on_conflict=True)

    def _find(
        self, api: CountingApi, entity: str, key: DocKey, doc: Doc, payload: dict[str, Any]
    ) -> tuple[str, str] | None:
        doc_type: builder.DocType = (
            "invoice" if key.document_type is DocumentType.INVOICE else "credit_note"
        )
        marker = builder.private_note_marker(doc_type, key.sequence_id)
        customer = payload["CustomerRef"]["value"]
        if doc.number:
            query = Query(entity).where("DocNumber", "=", doc.number)
        else:
            query = (
                Query(entity)
                .where("CustomerRef", "=", customer)
                .where("TxnDate", "=", payload["TxnDate"])
            )
        for found in api.query(query):
            if found.get("PrivateNote") == marker or (
                doc.number and (found.get("CustomerRef") or {}).get("value") == customer
            ):
                return str(found["Id"]), str(found["SyncToken"])
        return None

    # -- failures and status -------------------------------------------------------------------
    def _fail(
        self, tx: Tx, key: DocKey, api: CountingApi | None, reason: str, message: str
    ) -> SyncResult:
        calls = api.calls if api is not None else 0
        ledger.mark_failed(tx, key, reason_code=reason, message=message)
        ledger.record_attempt(
            tx, key, outcome="failed", reason_code=reason, message=message, qbo_calls=calls
        )
        return SyncResult("failed", reason, message, qbo_calls=calls)

    def _publish(self, key: DocKey, result: SyncResult, realm_id: str | None) -> None:
        if self.status is not None and result.outcome != "stale":
            self.status(key, result, realm_id)


def _invoice_not_synced(tx: Tx, account_id: str, note: CreditNote) -> str | None:
    """None when the credited invoice is in QBO; raises Waiting while it may still get there
    (cross-topic order: the credit note overtook its invoice); a message when it failed."""
    row = ledger.get(tx, DocKey(account_id, DocumentType.INVOICE, note.invoice_id))
    if row is None or row["status"] == "pending":
        raise Waiting(f"credit note {note.id} waits for invoice {note.invoice_id} to be synced")
    if row["status"] == "failed":
        return (
            f"invoice {note.invoice_id} is not in QBO ({row['reason_code']}); "
            "the credit note follows once it is"
        )
    return None


def _doc_type(doc: Doc) -> DocumentType:
    return DocumentType.INVOICE if isinstance(doc, Invoice) else DocumentType.CREDIT_NOTE


def _ref(row: Row) -> tuple[str, str] | None:
    return (row["qbo_id"], row["qbo_sync_token"]) if row["qbo_id"] else None


def _build_payload(doc: Doc, ctx: builder.BuildContext) -> dict[str, Any]:
    if isinstance(doc, Invoice):
        return builder.build_invoice(doc, ctx)
    return builder.build_credit_memo(doc, ctx)


def _replace(ctx: builder.BuildContext, **changes: Any) -> builder.BuildContext:
    import dataclasses

    return dataclasses.replace(ctx, **changes)


def _context(
    tx: Tx,
    account_id: str,
    doc: Doc,
    company: builder.Company,
    customer_id: str,
    customer_currency: str | None,
    rate: Decimal | None,
) -> builder.BuildContext:
    from qbo import tax

    s = sync_context.settings(tx, account_id) or {}
    lines = [(g, i) for g in doc.line_item_groups for i in g.line_items]
    categories = {c for g, i in lines for c in (i.tax_category_id, g.tax_category_id) if c}
    return builder.BuildContext(
        qbo_customer_id=customer_id,
        company=company,
        settings=builder.SyncSettings(
            merchant_email=s.get("merchant_email"),
            txn_date_source="accounting_date"
            if s.get("txn_date_source") == "accounting_date"
            else "document_date",
            tax=tax.TaxSettings(
                fallback=s.get("fallback_tax_code_id"),
                exempt=s.get("exempt_tax_code_id"),
                reverse_charge=s.get("reverse_charge_tax_code_id"),
            ),
        ),
        qbo_customer_currency=customer_currency,
        item_mappings=sync_context.item_mappings(
            tx, account_id, [i.product_id for _, i in lines if i.product_id]
        ),
        fallback_item_id=s.get("fallback_item_id"),
        tax_mappings=sync_context.tax_mappings(tx, account_id, categories),
        exchange_rate=rate,
    )


def _fault_text(exc: qbo_errors.QboError) -> str:
    return str(exc)
