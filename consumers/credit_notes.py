"""`credit_note.sent` → a QBO CreditMemo."""

from __future__ import annotations

from consumers._holder import holder
from consumers._sync_outcome import document_outcome
from consumers._validation import parse
from consumers.runtime.types import Event, Outcome, Poison
from schemas.models import CreditNoteSent
from store.ledger import DocKey, DocumentType
from sync.documents import DocumentSync


class CreditNoteHandler:
    event = "credit_note.sent"

    def __init__(self, sync: DocumentSync) -> None:
        self.sync = sync

    def handle(self, event: Event) -> Outcome:
        parsed = parse(CreditNoteSent, event.value)
        if isinstance(parsed, Poison):
            return parsed
        key = DocKey(parsed.account_id, DocumentType.CREDIT_NOTE, parsed.credit_note.id)
        return document_outcome(
            self.sync,
            key,
            lambda: self.sync.sync(
                parsed.account_id, parsed.credit_note, parsed.occurred_at, holder=holder(event)
            ),
            doc=parsed.credit_note,
            occurred_at=parsed.occurred_at,
        )
