"""`credit_note.sent` → a QBO CreditMemo."""

from __future__ import annotations

from consumers._sync_outcome import synced_outcome
from consumers._validation import parse
from consumers.runtime.types import Event, Outcome, Poison
from schemas.models import CreditNoteSent
from store.ledger import DocumentType
from sync.documents import DocumentSync


class CreditNoteHandler:
    event = "credit_note.sent"

    def __init__(self, sync: DocumentSync) -> None:
        self.sync = sync
        self.batches = getattr(sync, "batcher", None) is not None  # creates, like invoices'

    def handle(self, event: Event) -> Outcome:
        parsed = parse(CreditNoteSent, event.value)
        if isinstance(parsed, Poison):
            return parsed
        return synced_outcome(
            self.sync,
            event,
            DocumentType.CREDIT_NOTE,
            parsed.account_id,
            parsed.credit_note,
            parsed.occurred_at,
        )
