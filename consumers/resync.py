"""`sequence-qbo.resync` (internal): sync a document again from its latest ledger snapshot.

Requests come from `resync`, from linking a customer and from an invoice that synced (the
documents waiting for it); `sync/resync.py` queues them."""

from __future__ import annotations

from typing import Protocol

from consumers._sync_outcome import document_outcome
from consumers.runtime.types import Event, Outcome, Poison
from store.ledger import DocKey, DocumentType
from sync.documents import DocumentSync


class CustomerResync(Protocol):
    """Pushes a customer's stored snapshot again (`CustomerUpdatedHandler.resync`)."""

    def resync(self, account_id: str, customer_id: str) -> Outcome: ...


class ResyncHandler:
    event = "qbo.resync"

    def __init__(self, sync: DocumentSync, customers: CustomerResync | None = None) -> None:
        self.sync = sync
        self.customers = customers

    def handle(self, event: Event) -> Outcome:
        value = event.value
        doc_type = DocumentType(str(value["document_type"]).lower())
        key = DocKey(value["account_id"], doc_type, value["sequence_id"])
        if doc_type is DocumentType.CUSTOMER:
            if self.customers is None:
                return Poison("UnknownDocument", "no customer sync configured for re-syncs")
            return self.customers.resync(key.account_id, key.sequence_id)
        try:
            return document_outcome(
                self.sync, key, lambda: self.sync.resync(key.account_id, doc_type, key.sequence_id)
            )
        except LookupError as exc:
            return Poison("UnknownDocument", str(exc))
