"""`sequence-qbo.resync` (internal): sync a document again from its latest ledger snapshot."""

from __future__ import annotations

from consumers._sync_outcome import outcome_of
from consumers.runtime.types import Event, Outcome, Poison
from store.ledger import DocumentType
from sync.documents import DocumentSync


class ResyncHandler:
    event = "qbo.resync"

    def __init__(self, sync: DocumentSync) -> None:
        self.sync = sync

    def handle(self, event: Event) -> Outcome:
        value = event.value
        doc_type = DocumentType(str(value["document_type"]).lower())
        try:
            return outcome_of(
                lambda: self.sync.resync(value["account_id"], doc_type, value["sequence_id"])
            )
        except LookupError as exc:
            return Poison("UnknownDocument", str(exc))
