"""`invoice.finalized`, `invoice.sent` → a QBO Invoice; `invoice.voided` → void it."""

from __future__ import annotations

from consumers._holder import holder
from consumers._sync_outcome import document_outcome, synced_outcome
from consumers._validation import parse
from consumers.runtime.types import Event, Outcome, Poison
from schemas.models import InvoiceEvent
from store.ledger import DocKey, DocumentType
from sync.documents import DocumentSync


class InvoiceHandler:
    """Creates or updates the QBO invoice (both topics carry the full snapshot)."""

    def __init__(self, sync: DocumentSync, event: str = "invoice.finalized") -> None:
        self.sync = sync
        self.event = event
        # A finalized invoice is mostly a create: a realm's backlog of them shares /batch
        # requests, so the runtime starts a batch's worth per turn (consumers/runtime/engine.py).
        # invoice.sent mostly updates what exists: one request each.
        self.batches = getattr(sync, "batcher", None) is not None and event == "invoice.finalized"

    def handle(self, event: Event) -> Outcome:
        parsed = parse(InvoiceEvent, event.value)
        if isinstance(parsed, Poison):
            return parsed
        return synced_outcome(
            self.sync,
            event,
            DocumentType.INVOICE,
            parsed.account_id,
            parsed.invoice,
            parsed.occurred_at,
        )


class InvoiceVoidedHandler:
    event = "invoice.voided"

    def __init__(self, sync: DocumentSync) -> None:
        self.sync = sync

    def handle(self, event: Event) -> Outcome:
        parsed = parse(InvoiceEvent, event.value)
        if isinstance(parsed, Poison):
            return parsed
        key = DocKey(parsed.account_id, DocumentType.INVOICE, parsed.invoice.id)
        return document_outcome(
            self.sync,
            key,
            lambda: self.sync.void(parsed.account_id, parsed.invoice, holder=holder(event)),
        )
