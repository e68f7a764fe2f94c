"""Re-sync requests: "sync this document again from its latest ledger snapshot".

They go to the internal topic `Topics.resync` (`sequence-qbo.resync`), keyed by the document
id (a re-sync queues behind that document's other work on one partition), as the `qbo.resync`
Avro record that `consumers/resync.py` decodes: Avro like every other topic, so the registry
and the compatibility tests cover this contract too
(docs/events.md#qboresync-topic-sequence-qboresync).
"""

from __future__ import annotations

import datetime as dt
import uuid

from store import ledger
from store.db import Database, Tx
from sync.publish import Publishing

__all__ = [
    "request_resync",
    "resync_documents",
    "resync_waiting_for_customer",
    "resync_waiting_for_invoice",
    "wake",
]


def request_resync(
    pub: Publishing,
    account_id: str,
    document_type: str,
    sequence_id: str,
    *,
    reason: str = "manual",
) -> None:
    """Queues one request; the caller flushes (`pub.outbox.flush()`) when its batch is done."""
    record = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": dt.datetime.now(dt.UTC),
        "account_id": account_id,
        "document_type": str(document_type).upper(),
        "sequence_id": sequence_id,
        "reason": reason,
    }
    topic = pub.topics.resync
    pub.outbox.send(topic, sequence_id, pub.serde.encode("qbo.resync", topic, record))


def resync_waiting_for_customer(
    db: Database | Tx, pub: Publishing, account_id: str, customer_id: str
) -> list[str]:
    """Re-syncs the customer's documents failed or waiting with `customer_not_linked`
    (linking re-syncs them: docs/qbo-mapping.md#customers); returns their ids once the broker
    has acknowledged them."""
    keys = ledger.waking_for_customer(db, account_id, customer_id)
    return _request_all(pub, keys, reason="customer_linked")


def resync_waiting_for_invoice(
    db: Database | Tx, pub: Publishing, account_id: str, invoice_id: str
) -> list[str]:
    """Re-syncs what an invoice's sync clears: documents stored `waiting` on it, and credit
    notes failed with `invoice_not_synced` for it. Called once the invoice is in QBO (the
    document sync, after recording it synced); returns their ids once acknowledged."""
    keys = ledger.waking_for_invoice(db, account_id, invoice_id)
    return _request_all(pub, keys, reason="invoice_synced")


def resync_documents(pub: Publishing, keys: list[ledger.DocKey], *, reason: str) -> list[str]:
    """Re-syncs documents already looked up (the document sync reads what waits for an
    invoice in the round trip that records it synced); returns their ids once acknowledged."""
    return _request_all(pub, keys, reason=reason)


def wake(db: Database | Tx, pub: Publishing, key: ledger.DocKey) -> list[str]:
    """Re-syncs whatever `key` becoming synced clears (an invoice: its credit notes and voids
    waiting; anything else: the documents stored waiting on it)."""
    if key.document_type is ledger.DocumentType.INVOICE:
        return resync_waiting_for_invoice(db, pub, key.account_id, key.sequence_id)
    keys = ledger.waiting_on(db, key.account_id, str(key.document_type), key.sequence_id)
    return _request_all(pub, keys, reason=f"{key.document_type}_synced")


def _request_all(pub: Publishing, keys: list[ledger.DocKey], *, reason: str) -> list[str]:
    """Through `sequence-qbo.resync`, the path every re-sync takes: each request queues behind
    the document's other work, and the sync it triggers records and announces the outcome."""
    for key in keys:
        request_resync(pub, key.account_id, str(key.document_type), key.sequence_id, reason=reason)
    if keys:
        pub.outbox.flush()
    return [key.sequence_id for key in keys]
