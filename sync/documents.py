"""Syncing one Sequence invoice or credit note to QBO, exactly once (docs/architecture.md).

No database transaction, and so no pool connection, is held while QBO answers; a sync uses at
most one pool connection at a time. At month-end PostgreSQL and the service share the CPU, so
a new invoice costs the store three round trips of its own (the claim, the create intent, the
result), each one statement or a pipeline of them (`Database.pipeline`), no BEGIN nor COMMIT.
For every document:
  1. claim it, in one statement under the document's advisory lock: store the snapshot in the
     ledger (an event older than the stored snapshot changes nothing) and take the document's
     lease (`lease_until`, renewed right before a QBO request leaves, after its wait for the
     realm's quota, once a third has passed), so that a concurrent sync of the same document
     (a live event, a replay, a re-sync, another process after a rebalance) waits and
     retries instead of interleaving; in the same round trip,
     read what the payload needs from the store (link, settings, mappings, create intent). A
     replay of the snapshot QBO already holds ends here: no QBO call;
  2. a credit note whose invoice has no QBO id looks the invoice up in QBO (DocNumber and
     customer) and adopts it when it is there; otherwise it is stored `waiting` and re-synced
     when the invoice syncs (step 7 of the invoice);
  3. build the QBO payload from the snapshot and the account's context (pure builders); the
     customer is auto-created when the account allows it (its link in a short transaction of
     its own); a business problem is `failed` with its reason code and nothing is sent;
  4. a payload identical to the one QBO already holds is skipped: no QBO call;
  5. find the QBO object: the ledger's id; else, only when a create intent exists (an earlier
     attempt may have created it), a look-up by DocNumber and customer or by the PrivateNote
     marker (requestid alone is reported unreliable) — found means adopted;
  6. create it: the create intent commits first (one statement), then the create goes
     with a deterministic requestid, alone or, when the realm has a backlog, with the realm's
     other ready creates in one /batch (sync.batching: an item's fault is its document's
     own); a duplicate DocNumber is adopted when the QBO document is ours (same number,
     customer and total), else `failed/duplicate_doc_number`. Or update it
     in place (Id + SyncToken; on a stale SyncToken re-read and re-apply once);
  7. record the result and release the lease: synced, in one statement under the document's
     advisory lock (then the void, when `invoice.voided` came first), or the state
     `sync.failures.classify` gives the error (failed, retrying, waiting), in a short
     transaction; find the documents waiting for this invoice (read in the round trip that
     records it synced, after its lock) and, once that is committed, ask for their re-sync
     (`sequence-qbo.resync`); publish `qbo.sync_status` when the state changed.
A crash between 6 and 7 leaves QBO ahead of the ledger: the lease expires (30 s), and the
create intent makes the next attempt look QBO up first (step 5) instead of creating again.
Requestids are deterministic (the same for every attempt until QBO refuses one for good).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from qbo import company as company_mod
from qbo import errors as qbo_errors
from qbo import invoice as builder
from qbo import requestids
from qbo.client import CallCount, ClientProvider, QboClient
from qbo.query import Query
from schemas.models import CreditNote, Invoice
from store import ledger, sync_context
from store.db import Database, Row, Statement, Tx
from store.ledger import DocKey, DocumentType
from sync import failures
from sync.batching import CreateBatcher
from sync.failures import Verdict
from sync.publish import Publishing
from sync.resync import resync_documents, resync_waiting_for_invoice

Doc = Invoice | CreditNote
_ENTITY = {DocumentType.INVOICE: "Invoice", DocumentType.CREDIT_NOTE: "CreditMemo"}
# A sync that died holds its document this long at most. A live one renews its lease right
# before each QBO request leaves (after any quota wait) once a third of it has passed (no
# transaction is open then), so a sync longer than this (quota waits, QBO slow, inline
# retries) keeps its document, and one that lost it sends nothing more.
LEASE_SECONDS = 30.0
# What a document waits behind while another sync holds it (the runtime backs off from here).
_BUSY_WAIT = 1.0

Outcome = Literal[
    "created",
    "updated",
    "adopted",
    "unchanged",
    "voided",
    "stale",
    "failed",
    "retrying",
    "waiting",
    "busy",
]


@dataclass(frozen=True)
class SyncResult:
    """`retrying`: transient, try again after `retry_after` (holding back `scope`); `busy`:
    another sync holds the document; `waiting`: stored, woken when what it waits for syncs."""

    outcome: Outcome
    reason_code: str | None = None
    message: str | None = None
    qbo_id: str | None = None
    qbo_calls: int = 0
    retry_after: float | None = None
    scope: Literal["realm", "key"] = "key"


# The document depends on another that is not synced yet (`waits_for`); the same class as
# sync.failures', re-exported for the doors that catch it from here.
Waiting = failures.Waiting


class CustomerNotLinked(Exception):
    """Raised by an `ensure_customer` hook when it cannot link the customer."""


class _Rejected(Exception):
    """A permanent refusal decided here, with its own reason (a DocNumber taken by another
    document, a void QBO refuses)."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.message)
        self.verdict = verdict


class EnsureCustomer(Protocol):
    """(db, client, account_id, document) → (qbo_customer_id, currency) or raises
    CustomerNotLinked; set when auto_create_customers may create the QBO customer. Called with
    no transaction open. `attempt` changes the create's requestid after a refused attempt."""

    def __call__(
        self, db: Database, api: Any, account_id: str, doc: Doc, *, attempt: str = ""
    ) -> tuple[str, str | None]: ...


StatusSink = Callable[[DocKey, SyncResult, str | None], None]


# Why no client could be had for the account.
@dataclass
class Metered:
    """The realm's client for one sync and the QBO calls it made (kept per attempt in the
    ledger: calls per invoice is a headline figure). The count is a hook on the client itself
    (`QboClient.observed`), so every call is counted however it is made."""

    client: QboClient
    count: CallCount

    @classmethod
    def of(cls, client: QboClient) -> Metered:
        count = CallCount()
        return cls(client.observed(count), count)

    @property
    def realm_id(self) -> str:
        return self.client.realm_id

    @property
    def calls(self) -> int:
        return self.count.calls

    def keep(self, hook: Callable[[], None]) -> None:
        """`hook` runs right before every further request leaves, inside its quota grant (the
        sync keeps its lease alive with it); an exception it raises stops the request."""
        self.client = self.client.kept(hook)


Unusable = qbo_errors.AuthError | qbo_errors.ConfigError


@dataclass(frozen=True)
class _Stored:
    """What the payload needs from the store, read in the claim's transaction."""

    link: Row | None
    settings: Row
    item_mappings: dict[str, str]
    tax_mappings: dict[str, str]
    intent: bool  # a create may have left for QBO in an earlier attempt
    invoice: Row | None = None  # a credit note's invoice


_NOTHING_STORED = _Stored(None, {}, {}, {}, intent=False)


@dataclass
class _Claim:
    """A document whose lease this sync holds."""

    key: DocKey
    token: str
    row: Row
    stored: _Stored
    # Invoices in QBO now: what waits for them is re-synced once the result is recorded.
    wake: list[DocKey] = field(default_factory=list)
    # What waited for it, already read when the result was recorded: re-synced likewise.
    woken: list[DocKey] = field(default_factory=list)
    taken_at: float = field(default_factory=time.monotonic)  # the lease's last (re)newal


class _LeaseLost(Exception):
    """Another sync took the document after our lease expired: stop before the next call."""


class DocumentSync:
    def __init__(
        self,
        db: Database,
        clients: ClientProvider,
        *,
        status: StatusSink | None = None,
        ensure_customer: EnsureCustomer | None = None,
        pub: Publishing | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        lease_seconds: float = LEASE_SECONDS,
        batcher: CreateBatcher | None = None,
    ) -> None:
        self.db = db
        self.clients = clients
        self.status = status
        self.ensure_customer = ensure_customer
        self.pub = pub  # re-sync requests for the documents an invoice's sync wakes
        self.today = today
        self.lease_seconds = lease_seconds
        self.batcher = batcher  # a realm's backlog of creates goes out in /batch requests

    # -- the doors: sync, void, resync ---------------------------------------------------------
    def sync(
        self,
        account_id: str,
        doc: Doc,
        occurred_at: dt.datetime | None,
        *,
        force: bool = False,
        holder: str | None = None,
    ) -> SyncResult:
        """`holder` names the delivery this attempt serves, the same across its retries: a
        retry after our own database went away mid-sync takes back the lease its earlier
        attempt could not release, instead of waiting for it to expire."""
        key = DocKey(account_id, _doc_type(doc), doc.id)
        api = self._api(account_id)
        claim = self._claim(key, api, doc, occurred_at, force, holder)
        if isinstance(claim, SyncResult):
            return claim
        return self._attempt(claim, api, lambda c, a: self._sync_claimed(c, a, doc))

    def void(self, account_id: str, invoice: Invoice, *, holder: str | None = None) -> SyncResult:
        """Voids the QBO invoice of a Sequence invoice (invoice.voided); an invoice not in QBO
        yet is voided as soon as it gets there. `holder` as for `sync`."""
        key = DocKey(account_id, DocumentType.INVOICE, invoice.id)
        api = self._api(account_id)
        claim = self._claim_void(key, api, invoice, holder)
        if isinstance(claim, SyncResult):
            return claim
        return self._attempt(claim, api, lambda c, a: self._void_claimed(c, a, invoice))

    def resync(self, account_id: str, document_type: DocumentType, sequence_id: str) -> SyncResult:
        """Syncs the ledger's latest snapshot again (manual re-sync, after linking, or woken by
        the invoice a document waited for); an invoice voided in Sequence is voided."""
        key = DocKey(account_id, document_type, sequence_id)
        row = ledger.get(self.db, key)
        if row is None or row["snapshot"] is None:
            raise LookupError(f"no {document_type} {sequence_id} in account {account_id}")
        if document_type is DocumentType.INVOICE:
            invoice = Invoice.model_validate(row["snapshot"])
            if row["void_requested_at"] is not None:
                return self.void(account_id, invoice)
            return self.sync(account_id, invoice, row["snapshot_occurred_at"], force=True)
        note = CreditNote.model_validate(row["snapshot"])
        return self.sync(account_id, note, row["snapshot_occurred_at"], force=True)

    def _api(self, account_id: str) -> Metered | Unusable:
        try:
            return Metered.of(self.clients(account_id))
        # Not connected, needs re-authorization, or tokens the configured key cannot decrypt:
        # the document fails with the reason (recorded like any other verdict).
        except (qbo_errors.AuthError, qbo_errors.ConfigError) as exc:
            return exc

    # -- step 1: the claim ---------------------------------------------------------------------
    def _claim(
        self,
        key: DocKey,
        api: Metered | Unusable,
        doc: Doc,
        occurred_at: dt.datetime | None,
        force: bool,
        holder: str | None = None,
    ) -> _Claim | SyncResult:
        token = holder or uuid.uuid4().hex
        snapshot = doc.model_dump(mode="json")
        digest = builder.payload_hash(snapshot)
        # One round trip: the claim (snapshot and lease, under the document's advisory lock)
        # and what the payload needs; a replay or a busy document reads it for nothing.
        statements = [
            ledger.claim_statement(
                key,
                token,
                self.lease_seconds,
                customer_id=doc.customer_id,
                snapshot=snapshot,
                snapshot_hash=digest,
                occurred_at=occurred_at,
            ),
            _context_statement(key, api, doc),
        ]
        if isinstance(doc, CreditNote):
            statements.append(ledger.get_statement(_invoice_key(key, doc)))
        claimed, context, *invoice = self.db.pipeline(*statements)
        if not claimed:
            return _busy(key)  # nothing stored: the holder may be syncing an older snapshot
        row = claimed[0]
        early = _replayed(row, digest, force)
        if early is None:
            return _Claim(key, token, row, _stored(context[0], invoice[0] if invoice else []))
        claim = _Claim(key, token, row, _NOTHING_STORED)  # a replay uses nothing more
        if early.outcome != "unchanged":
            ledger.release(self.db, key, token)
            return early
        # A replay or redelivery of what QBO already holds: no QBO call at all. (A mapping
        # changed since? `sequence-qbo resync` forces a rebuild.)
        ledger.record_skipped(self.db, key, token, snapshot_hash=None, qbo_calls=0)
        claim.wake = _in_qbo(key, row)  # in case an earlier wake-up was lost
        # An announcement or a wake-up lost after an earlier attempt's commit is made now.
        return self._announce(claim, early, api.realm_id if isinstance(api, Metered) else None)

    def _lease(self, tx: Tx, key: DocKey, token: str) -> bool:
        """False while another sync holds the document (a new document is free)."""
        if ledger.get(tx, key) is None:
            return True
        return ledger.claim(tx, key, token, self.lease_seconds) is not None

    def _claim_void(
        self, key: DocKey, api: Metered | Unusable, invoice: Invoice, holder: str | None
    ) -> _Claim | SyncResult:
        token = holder or uuid.uuid4().hex
        with self.db.transaction() as tx:
            ledger.lock(tx, key)
            if not self._lease(tx, key, token):
                return _busy(key)
            if ledger.get(tx, key) is None:
                # The void came first. Stored without a date, so the invoice's own event
                # replaces this snapshot when it arrives.
                snapshot = invoice.model_dump(mode="json")
                ledger.receive(
                    tx,
                    key,
                    customer_id=invoice.customer_id,
                    snapshot=snapshot,
                    snapshot_hash=builder.payload_hash(snapshot),
                    occurred_at=None,
                )
            ledger.request_void(tx, key)
            row = ledger.claim(tx, key, token, self.lease_seconds)
            assert row is not None
            if row["status"] != "voided":
                context = tx.one(*_context_statement(key, api, invoice))
                assert context is not None  # one row, always
                return _Claim(key, token, row, _stored(context, []))
            ledger.record_attempt(tx, key, outcome="skipped")
            ledger.release(tx, key, token)
        return SyncResult("unchanged", qbo_id=row["qbo_id"])

    # -- one attempt, its verdict and its status ------------------------------------------------
    def _attempt(
        self,
        claim: _Claim,
        api: Metered | Unusable,
        work: Callable[[_Claim, Metered], SyncResult],
    ) -> SyncResult:
        try:
            if not isinstance(api, Metered):
                # Nothing can reach QBO until the merchant (re)connects: failed, and
                # `sequence-qbo resync` sends it once they have.
                raise api
            api.keep(lambda: self._keep(claim))
            result = work(claim, api)
        except _LeaseLost:
            return _busy(claim.key)  # the sync that holds it now records its result
        except _Rejected as exc:
            result = self._record_verdict(claim, api, exc.verdict)
        except Exception as exc:
            verdict = failures.classify(exc)
            if verdict is None:  # a bug: the runtime logs it and retries the event
                self._let_go(claim)
                raise
            result = self._record_verdict(claim, api, verdict, getattr(exc, "waits_for", None))
        return self._announce(claim, result, api.realm_id if isinstance(api, Metered) else None)

    def _announce(self, claim: _Claim, result: SyncResult, realm_id: str | None) -> SyncResult:
        """Publishes the state on `qbo.sync_status` (the sink announces it once per change: it
        compares with the ledger's last announcement, so a replay announces nothing) and wakes
        what waited for this invoice. Both happen after the commit: when the broker fails them,
        the ledger keeps its true state and the event is retried; the retry, a replay, makes
        them without a QBO call."""
        try:
            self._publish(claim.key, result, realm_id)
            self._wake(claim)
        except Exception as exc:
            verdict = failures.classify(exc)
            if verdict is None or verdict.kind != "retrying":
                raise
            return SyncResult(
                "retrying",
                verdict.reason,
                f"{claim.key.document_type} {claim.key.sequence_id} is {result.outcome}; its "
                f"announcement is not sent yet: {verdict.message}",
                qbo_id=result.qbo_id,
                qbo_calls=result.qbo_calls,
                retry_after=verdict.retry_after,
            )
        return result

    def _keep(self, claim: _Claim) -> None:
        """Renews the lease before a QBO call once a third of it has passed."""
        now = time.monotonic()
        if now - claim.taken_at < self.lease_seconds / 3:
            return
        if ledger.claim(self.db, claim.key, claim.token, self.lease_seconds) is None:
            raise _LeaseLost(f"{claim.key.document_type} {claim.key.sequence_id}")
        claim.taken_at = now

    def _record_verdict(
        self,
        claim: _Claim,
        api: Metered | Unusable,
        verdict: Verdict,
        waits_for: DocKey | None = None,
    ) -> SyncResult:
        return self._mark(self.db, claim, api, verdict, waits_for)  # one round trip

    def _mark(
        self,
        tx: Tx | Database,
        claim: _Claim,
        api: Metered | Unusable,
        verdict: Verdict,
        waits_for: DocKey | None = None,
    ) -> SyncResult:
        """Records a failed, retrying or waiting state and gives the lease back (in `tx`, or
        in a transaction of its own)."""
        calls = _calls(api)
        ledger.record_verdict(
            tx,
            claim.key,
            claim.token,
            status=verdict.kind,
            reason=verdict.reason,
            message=verdict.message,
            qbo_calls=calls,
            waits_for=waits_for,
        )
        return SyncResult(
            verdict.kind,
            verdict.reason,
            verdict.message,
            qbo_id=claim.row["qbo_id"],
            qbo_calls=calls,
            retry_after=verdict.retry_after,
            scope=verdict.scope,
        )

    def _let_go(self, claim: _Claim) -> None:
        """Releases the lease after an unexpected error (at worst it expires on its own)."""
        # The original error is the one to report.
        with contextlib.suppress(Exception):
            ledger.release(self.db, claim.key, claim.token)

    def _publish(self, key: DocKey, result: SyncResult, realm_id: str | None) -> None:
        if self.status is not None:
            self.status(key, result, realm_id)

    def _wake(self, claim: _Claim) -> None:
        """Asks for the re-sync of what waited for these invoices (now in QBO), through
        `sequence-qbo.resync`: the path linking a customer takes (sync.resync). After the
        commit: a credit note deciding to wait does so under the invoice's lock, so it is
        either committed by now or has seen the invoice in QBO. `claim.woken` was read with
        the result, after its lock was taken; `claim.wake` is looked up now."""
        if self.pub is None:
            return
        if claim.woken:
            resync_documents(self.pub, claim.woken, reason="invoice_synced")
        for invoice in claim.wake:
            resync_waiting_for_invoice(self.db, self.pub, invoice.account_id, invoice.sequence_id)

    # -- steps 2 to 7: a document whose lease we hold -------------------------------------------
    def _sync_claimed(self, claim: _Claim, api: Metered, doc: Doc) -> SyncResult:
        _refuse_foreign_realm(claim.row, api.realm_id)
        if isinstance(doc, CreditNote):
            held = self._await_invoice(claim, api, doc)
            if held is not None:
                return held
        payload, rate = self._build(claim, api, doc)
        digest = builder.payload_hash(payload)
        row = claim.row
        # Even when forced (a re-sync rebuilds the payload, a mapping may have changed): what QBO
        # holds already is not written again, so a replayed re-sync request costs no write.
        if row["status"] == "synced" and row["payload_hash"] == digest:
            return self._record_unchanged(claim, api)
        outcome, saved, request_id = self._write(claim, api, doc, payload, digest)
        void_next = row["void_requested_at"] is not None
        result = self._record_synced(
            claim, api, outcome, saved, request_id, digest, rate, keep_lease=void_next
        )
        if not void_next:
            return result
        # invoice.voided came before the invoice reached QBO: apply it now.
        claim.row = {**row, "qbo_id": str(saved["Id"]), "qbo_sync_token": str(saved["SyncToken"])}
        return self._void_claimed(claim, api, doc)

    def _record_unchanged(self, claim: _Claim, api: Metered) -> SyncResult:
        ledger.record_skipped(
            self.db,
            claim.key,
            claim.token,
            snapshot_hash=claim.row["snapshot_hash"],
            qbo_calls=api.calls,
        )
        claim.wake = _in_qbo(claim.key, claim.row)
        return SyncResult("unchanged", qbo_id=claim.row["qbo_id"], qbo_calls=api.calls)

    def _record_synced(
        self,
        claim: _Claim,
        api: Metered,
        outcome: Any,
        saved: dict[str, Any],
        request_id: str,
        digest: str,
        rate: Decimal | None,
        *,
        keep_lease: bool = False,
    ) -> SyncResult:
        key = claim.key
        # One round trip, under the invoice's lock (a credit note deciding to wait reads it
        # under the same); what waited for the invoice is read in it too, after the lock. A
        # void to apply next (`keep_lease`) records, and wakes, once more after it.
        claim.woken = ledger.record_synced(
            self.db,
            key,
            token=claim.token,
            release=not keep_lease,
            realm_id=api.realm_id,
            qbo_id=str(saved["Id"]),
            sync_token=str(saved["SyncToken"]),
            payload_hash=digest,
            request_id=request_id,
            exchange_rate=rate,
            snapshot_hash=claim.row["snapshot_hash"],
            qbo_calls=api.calls,
            waiters=bool(_in_qbo(key, {"qbo_id": saved["Id"]}))
            and not keep_lease
            and self.pub is not None,
        )
        return SyncResult(outcome, qbo_id=str(saved["Id"]), qbo_calls=api.calls)

    # -- step 2: a credit note's invoice ----------------------------------------------------------
    def _await_invoice(self, claim: _Claim, api: Metered, note: CreditNote) -> SyncResult | None:
        """None when the credited invoice is in QBO (or was found there and adopted); else the
        credit note is stored `waiting` for it."""
        invoice_key = DocKey(claim.key.account_id, DocumentType.INVOICE, note.invoice_id)
        invoice = claim.stored.invoice
        if invoice is not None and invoice["qbo_id"]:
            return None
        if invoice is None and self._adopt_invoice(claim, api, invoice_key, note):
            return None
        with self.db.transaction() as tx:
            # The invoice's sync records it under this lock, then looks for its waiters: either
            # it is in QBO now, or our `waiting` is committed before it looks.
            ledger.lock(tx, invoice_key)
            invoice = ledger.get(tx, invoice_key)
            if invoice is not None and invoice["qbo_id"]:
                return None
            verdict = failures.waiting("invoice_not_synced", _waiting_message(note, invoice))
            return self._mark(tx, claim, api, verdict, invoice_key)

    def _adopt_invoice(
        self, claim: _Claim, api: Metered, invoice_key: DocKey, note: CreditNote
    ) -> bool:
        """An invoice the ledger has never seen may be in QBO from before the connection."""
        found = self._find_invoice(api, claim.stored.link, note.invoice_number, note.invoice_id)
        if found is None:
            return False
        with self.db.transaction() as tx:
            ledger.lock(tx, invoice_key)
            ledger.adopt(
                tx,
                invoice_key,
                customer_id=note.customer_id,
                realm_id=api.realm_id,
                qbo_id=found[0],
                sync_token=found[1],
            )
            claim.wake = [invoice_key]  # other credit notes may wait for it too
        return True

    def _find_invoice(
        self, api: Metered, link: Row | None, number: str | None, invoice_id: str
    ) -> tuple[str, str] | None:
        """The QBO invoice with this DocNumber that is ours (our marker) or the linked
        customer's."""
        if not number:
            return None
        marker = builder.private_note_marker("invoice", invoice_id)
        customer = link["qbo_customer_id"] if link else None
        for found in api.client.query(Query("Invoice").where("DocNumber", "=", number)):
            ref = (found.get("CustomerRef") or {}).get("value")
            if found.get("PrivateNote") == marker or (customer and ref == customer):
                return str(found["Id"]), str(found["SyncToken"])
        return None

    # -- step 3: the payload ---------------------------------------------------------------------
    def _build(
        self, claim: _Claim, api: Metered, doc: Doc
    ) -> tuple[dict[str, Any], Decimal | None]:
        company = company_mod.company_facts(api.client.preferences(), api.client.company_info())
        customer_id, customer_currency = self._customer(claim, api, doc)
        rate = self._rate(api, doc, company, claim.row)
        ctx = _context(claim.stored, doc, company, customer_id, customer_currency, rate)
        try:
            return _build_payload(doc, ctx), rate
        except builder.BuildFailure as exc:
            if str(exc.reason_code) != "tax_code_missing":
                raise
        # Last rule of the tax chain: the QBO customer's own default (one read, only when
        # nothing else applied).
        customer = api.client.get("Customer", customer_id)
        default = (customer.get("DefaultTaxCodeRef") or {}).get("value")
        ctx = dataclasses.replace(ctx, qbo_customer_default_tax_code=default)
        return _build_payload(doc, ctx), rate

    def _customer(self, claim: _Claim, api: Metered, doc: Doc) -> tuple[str, str | None]:
        link = claim.stored.link
        if link is not None:
            return link["qbo_customer_id"], link["currency"]
        if self.ensure_customer is None:
            raise CustomerNotLinked(
                f"Sequence customer {doc.customer_id} "
                f"({doc.customer.legal_name}) is not linked to a QBO customer"
            )
        return self.ensure_customer(
            self.db, api.client, claim.key.account_id, doc, attempt=_after_failure(claim.row)
        )

    def _rate(self, api: Metered, doc: Doc, company: builder.Company, row: Row) -> Decimal | None:
        if doc.currency == company.home_currency or not company.multi_currency_enabled:
            return None
        if row["exchange_rate"] is not None:
            return Decimal(row["exchange_rate"])  # recorded at first sync: replays reuse it
        return Decimal(str(api.client.exchange_rate(doc.currency, self.today())["Rate"]))

    # -- steps 5 and 6: find, create or update ---------------------------------------------------
    def _write(
        self, claim: _Claim, api: Metered, doc: Doc, payload: dict[str, Any], digest: str
    ) -> tuple[Any, dict[str, Any], str]:
        key = claim.key
        entity = _ENTITY[key.document_type]
        existing = _ref(claim.row)
        if existing is None and claim.stored.intent:
            # An earlier attempt may have created it and died before recording it: look first
            # (requestid alone is reported unreliable).
            existing = self._find(api, entity, key, doc, payload)
        if existing is None:
            return self._create(claim, api, entity, doc, payload, digest)
        rid = _request_id(
            claim.row, key.account_id, str(key.document_type), key.sequence_id, digest, "update"
        )
        outcome = "updated" if _ref(claim.row) else "adopted"
        return outcome, self._update(api, entity, existing, payload, rid), rid

    def _create(
        self,
        claim: _Claim,
        api: Metered,
        entity: str,
        doc: Doc,
        payload: dict[str, Any],
        digest: str,
    ) -> tuple[Any, dict[str, Any], str]:
        key = claim.key
        rid = _request_id(
            claim.row, key.account_id, str(key.document_type), key.sequence_id, digest, "create"
        )
        ledger.record_intent(self.db, key, rid)  # committed before the request leaves
        try:
            return "created", self._send_create(claim, api, entity, payload, rid), rid
        except qbo_errors.QboError as exc:
            if not _duplicate_number(exc):
                raise
            taken = exc
        ours = self._same_number(api, entity, key, doc, payload)
        if ours is None:
            raise _Rejected(
                failures.failed(
                    "duplicate_doc_number",
                    f"QBO already has a {entity} numbered {doc.number!r} that is not this "
                    f"document (another customer or total); renumber one of them: {taken}",
                )
            )
        update = _request_id(
            claim.row, key.account_id, str(key.document_type), key.sequence_id, digest, "update"
        )
        return "adopted", self._update(api, entity, ours, payload, update), update

    def _send_create(
        self, claim: _Claim, api: Metered, entity: str, payload: dict[str, Any], rid: str
    ) -> dict[str, Any]:
        """Alone, or with the realm's other ready creates in one /batch (sync.batching) when
        the realm has a backlog; the lease is renewed before the batch leaves."""
        if self.batcher is None:
            return api.client.create(entity, payload, request_id=rid)
        return self.batcher.create(
            api.client, entity, payload, request_id=rid, ready=lambda: self._keep(claim)
        )

    def _same_number(
        self, api: Metered, entity: str, key: DocKey, doc: Doc, payload: dict[str, Any]
    ) -> tuple[str, str] | None:
        """The QBO document holding our DocNumber, when it is this document: our marker, or
        the same customer and total (entered by hand, or created before the connection)."""
        doc_type: builder.DocType = (
            "invoice" if key.document_type is DocumentType.INVOICE else "credit_note"
        )
        if not doc.number:
            return None
        marker = builder.private_note_marker(doc_type, key.sequence_id)
        customer = payload["CustomerRef"]["value"]
        for found in api.client.query(Query(entity).where("DocNumber", "=", doc.number)):
            same_customer = (found.get("CustomerRef") or {}).get("value") == customer
            same_total = Decimal(str(found.get("TotalAmt", "NaN"))) == doc.gross_total
            if found.get("PrivateNote") == marker or (same_customer and same_total):
                return str(found["Id"]), str(found["SyncToken"])
        return None

    def _update(
        self,
        api: Metered,
        entity: str,
        existing: tuple[str, str],
        payload: dict[str, Any],
        rid: str,
    ) -> dict[str, Any]:
        qbo_id, token = existing
        # A sparse update carrying every field we own (and all lines, which replaces them); on
        # 5010 someone edited it in QBO meanwhile: re-read the SyncToken and re-apply ours.
        return api.client.update(
            entity, qbo_id, token, payload, request_id=rid, reapply_on_conflict=True
        )

    def _find(
        self, api: Metered, entity: str, key: DocKey, doc: Doc, payload: dict[str, Any]
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
        for found in api.client.query(query):
            if found.get("PrivateNote") == marker or (
                doc.number and (found.get("CustomerRef") or {}).get("value") == customer
            ):
                return str(found["Id"]), str(found["SyncToken"])
        return None

    # -- the void ------------------------------------------------------------------------------
    def _void_claimed(self, claim: _Claim, api: Metered, invoice: Doc) -> SyncResult:
        row = claim.row
        _refuse_foreign_realm(row, api.realm_id)
        existing = _ref(row)
        if existing is None and row["status"] == "failed":
            # It never reached QBO and will not on its own: there is nothing to void there.
            return self._record_voided(claim, api, None)
        if existing is None:
            existing = self._find_invoice(api, claim.stored.link, invoice.number, invoice.id)
            if existing is None:
                raise Waiting(
                    f"the void of invoice {invoice.id} waits for the invoice to reach QBO; "
                    "it is applied as soon as the invoice syncs"
                )
            with self.db.transaction() as tx:
                ledger.adopt(
                    tx,
                    claim.key,
                    customer_id=invoice.customer_id,
                    realm_id=api.realm_id,
                    qbo_id=existing[0],
                    sync_token=existing[1],
                )
        return self._record_voided(claim, api, self._void_remote(api, claim, existing))

    def _void_remote(self, api: Metered, claim: _Claim, existing: tuple[str, str]) -> str:
        qbo_id, token = existing
        key = claim.key
        rid = _request_id(claim.row, key.account_id, "invoice", key.sequence_id, "void")
        try:
            try:
                return str(api.client.void("Invoice", qbo_id, token, request_id=rid)["SyncToken"])
            except qbo_errors.Conflict:  # edited in QBO since our last write
                fresh = api.client.get("Invoice", qbo_id)["SyncToken"]
                again = requestids.derive(rid, f"sync{fresh}")
                return str(api.client.void("Invoice", qbo_id, fresh, request_id=again)["SyncToken"])
        except qbo_errors.QboError as exc:
            verdict = failures.classify(exc)
            if verdict is None or verdict.reason not in ("qbo_validation", "qbo_rejected"):
                raise
            # A payment applied to it, most often: someone must remove it in QBO first.
            raise _Rejected(
                failures.failed(
                    "void_refused", f"QBO refused to void invoice {qbo_id}: {verdict.message}"
                )
            ) from exc

    def _record_voided(self, claim: _Claim, api: Metered, token: str | None) -> SyncResult:
        key = claim.key
        with self.db.transaction() as tx:
            ledger.lock(tx, key)
            ledger.mark_voided(tx, key, sync_token=token or "")
            ledger.record_attempt(tx, key, outcome="voided", qbo_calls=api.calls)
            ledger.release(tx, key, claim.token)
            row = ledger.get(tx, key)
            claim.wake = _in_qbo(key, row or {})
        qbo_id = row["qbo_id"] if row else None
        return SyncResult("voided", qbo_id=qbo_id, qbo_calls=api.calls)


def _replayed(row: Row, digest: str, force: bool) -> SyncResult | None:
    """The result of a claim that needs no QBO call, or None. `row` is the claimed row: its
    snapshot is this event's (`digest`) unless a newer one is stored."""
    if row["snapshot_hash"] != digest:
        return SyncResult("stale")  # an older event than the ledger's snapshot
    if row["status"] == "voided":
        return SyncResult("unchanged", qbo_id=row["qbo_id"])  # voided in QBO: final
    if not force and row["status"] == "synced" and row["synced_snapshot_hash"] == digest:
        return SyncResult("unchanged", qbo_id=row["qbo_id"])  # QBO holds this snapshot
    return None


def _context_statement(key: DocKey, api: Metered | Unusable, doc: Doc) -> Statement:
    """What the payload needs from the store (`_Stored`), as one statement. Links and mappings
    of the realm the sync writes to, never another company's ids (none at all when not
    connected: that attempt fails before any is used)."""
    lines = [(g, i) for g in doc.line_item_groups for i in g.line_items]
    return sync_context.for_document(
        key.account_id,
        str(key.document_type),
        key.sequence_id,
        realm_id=api.realm_id if isinstance(api, Metered) else "",
        customer_id=doc.customer_id,
        product_ids=[i.product_id for _, i in lines if i.product_id],
        category_ids={c for g, i in lines for c in (i.tax_category_id, g.tax_category_id) if c},
    )


def _stored(context: Row, invoice: list[Row]) -> _Stored:
    """`_Stored` from `_context_statement`'s row (and a credit note's invoice row, if any)."""
    return _Stored(
        link=context["link"],
        settings=context["settings"] or {},
        item_mappings=context["item_mappings"],
        tax_mappings=context["tax_mappings"],
        intent=context["intent"],
        invoice=invoice[0] if invoice else None,
    )


def _invoice_key(key: DocKey, note: CreditNote) -> DocKey:
    return DocKey(key.account_id, DocumentType.INVOICE, note.invoice_id)


def _request_id(row: Row, *parts: str) -> str:
    """Deterministic: the same for every attempt until QBO refuses one for good, so that a
    retry after a lost answer is deduplicated by QBO. After a refusal (`failed`), a new one:
    QBO answers a repeated requestid with its first answer, the old refusal."""
    rid = requestids.make(*parts)
    salt = _after_failure(row)
    return requestids.derive(rid, salt) if salt else rid


def _after_failure(row: Row) -> str:
    """Names the attempt after a refusal; empty while none was refused."""
    return f"after-failure-{row['attempts']}" if row["status"] == "failed" else ""


def _in_qbo(key: DocKey, row: Row) -> list[DocKey]:
    """The invoice, when it is in QBO (what waits for it can go now)."""
    if key.document_type is not DocumentType.INVOICE or not row.get("qbo_id"):
        return []
    return [key]


def _waiting_message(note: CreditNote, invoice: Row | None) -> str:
    which = f"invoice {note.invoice_id}" + (
        f" ({note.invoice_number})" if note.invoice_number else ""
    )
    if invoice is None:
        return f"{which} is neither synced nor found in QBO; the credit note follows once it is"
    if invoice["reason_code"]:
        return (
            f"{which} is not in QBO ({invoice['reason_code']}); the credit note follows once it is"
        )
    return f"{which} is not in QBO yet; the credit note follows once it is"


def _busy(key: DocKey) -> SyncResult:
    return SyncResult(
        "busy",
        "document_busy",
        f"another sync of {key.document_type} {key.sequence_id} is in progress",
        retry_after=_BUSY_WAIT,
    )


def _duplicate_number(exc: qbo_errors.QboError) -> bool:
    codes = {exc.code} | {item.code for item in exc.errors}
    return isinstance(exc, qbo_errors.DuplicateDocNumber) or "6140" in codes


def _calls(api: Metered | Unusable) -> int:
    return api.calls if isinstance(api, Metered) else 0


def _doc_type(doc: Doc) -> DocumentType:
    return DocumentType.INVOICE if isinstance(doc, Invoice) else DocumentType.CREDIT_NOTE


def _refuse_foreign_realm(row: Row, realm_id: str) -> None:
    """The row's QBO object is in another QBO company than the one the sync writes to, where
    the same Id may name an unrelated object: never updated nor voided (migration 0010)."""
    if not row["qbo_id"] or row["realm_id"] in (None, realm_id):
        return
    raise _Rejected(
        failures.failed(
            "realm_changed",
            f"{row['document_type']} {row['sequence_id']} is QBO object {row['qbo_id']} in QBO "
            f"company {row['realm_id']}, but the account is connected to {realm_id}; "
            f"`sequence-qbo connect --account {row['account_id']} --new-company` archives the "
            "old company's references, then the document syncs into the new one",
        )
    )


def _ref(row: Row) -> tuple[str, str] | None:
    return (row["qbo_id"], row["qbo_sync_token"]) if row["qbo_id"] else None


def _build_payload(doc: Doc, ctx: builder.BuildContext) -> dict[str, Any]:
    if isinstance(doc, Invoice):
        return builder.build_invoice(doc, ctx)
    return builder.build_credit_memo(doc, ctx)


def _context(
    stored: _Stored,
    doc: Doc,
    company: builder.Company,
    customer_id: str,
    customer_currency: str | None,
    rate: Decimal | None,
) -> builder.BuildContext:
    from qbo import tax

    s = stored.settings
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
        item_mappings=stored.item_mappings,
        fallback_item_id=s.get("fallback_item_id"),
        tax_mappings=stored.tax_mappings,
        exchange_rate=rate,
    )
