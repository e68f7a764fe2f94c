"""Re-sync requests: "sync this document again from its latest ledger snapshot".

They go to the internal topic `Topics.resync` (`sequence-qbo.resync`), keyed by the document
id (a re-sync queues behind that document's other work on one partition), as the `qbo.resync`
Avro record that `consumers/resync.py` decodes. (The brief said plain JSON; the lead's consumer
and schema, `schemas/qbo.resync.avsc`, settled on Avro, so this follows them.)
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import cast

from store import ledger
from store.db import Database, Tx
from sync.outbox import Publishing

__all__ = ["request_resync", "resync_waiting_for_customer"]

WAITING_REASON = "customer_not_linked"


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
    """Re-syncs the customer's documents that failed with `customer_not_linked` (PRODUCT.md
    §4: linking re-syncs them); returns their ids once the broker has acknowledged them."""
    # A Tx offers the same one/all as a Database (store.db): the auto-create path passes one.
    rows = ledger.failed(
        cast(Database, db),
        account_id=account_id,
        reason_code=WAITING_REASON,
        customer_id=customer_id,
        limit=100_000,
    )
    for row in rows:
        request_resync(
            pub, account_id, row["document_type"], row["sequence_id"], reason="customer_linked"
        )
    pub.outbox.flush()
    return [row["sequence_id"] for row in rows]
