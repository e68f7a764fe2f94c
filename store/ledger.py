"""The sync ledger: what each Sequence document became in QBO, and how its last sync went."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from store.db import Database, Row, Tx


class DocumentType(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    CUSTOMER = "customer"


@dataclass(frozen=True)
class DocKey:
    account_id: str
    document_type: DocumentType
    sequence_id: str

    def params(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "document_type": str(self.document_type),
            "sequence_id": self.sequence_id,
        }


def lock(tx: Tx, key: DocKey) -> None:
    """Holds the document's advisory lock until `tx` ends."""
    tx.execute("ledger_lock_document", key.params())


def get(tx: Tx, key: DocKey) -> Row | None:
    return tx.one("ledger_get", key.params())


def receive(
    tx: Tx,
    key: DocKey,
    *,
    customer_id: str,
    snapshot: dict[str, Any],
    snapshot_hash: str,
    occurred_at: Any,
) -> bool:
    """Stores the snapshot unless the stored one is the same or newer; True when stored."""
    return (
        tx.execute(
            "ledger_receive",
            {
                **key.params(),
                "customer_id": customer_id,
                "snapshot": Jsonb(snapshot),
                "snapshot_hash": snapshot_hash,
                "occurred_at": occurred_at,
            },
        )
        == 1
    )


def mark_synced(
    tx: Tx,
    key: DocKey,
    *,
    realm_id: str,
    qbo_id: str,
    sync_token: str,
    payload_hash: str,
    request_id: str,
    exchange_rate: Decimal | None,
) -> None:
    tx.execute(
        "ledger_mark_synced",
        {
            **key.params(),
            "realm_id": realm_id,
            "qbo_id": qbo_id,
            "qbo_sync_token": sync_token,
            "payload_hash": payload_hash,
            "request_id": request_id,
            "exchange_rate": exchange_rate,
        },
    )


def mark_failed(tx: Tx, key: DocKey, *, reason_code: str, message: str) -> None:
    tx.execute(
        "ledger_mark_failed", {**key.params(), "reason_code": reason_code, "message": message}
    )


def mark_voided(tx: Tx, key: DocKey, *, sync_token: str) -> None:
    tx.execute("ledger_mark_voided", {**key.params(), "qbo_sync_token": sync_token})


def record_attempt(
    tx: Tx,
    key: DocKey,
    *,
    outcome: str,
    reason_code: str | None = None,
    message: str | None = None,
    qbo_calls: int = 0,
) -> None:
    tx.execute(
        "ledger_record_attempt",
        {
            **key.params(),
            "outcome": outcome,
            "reason_code": reason_code,
            "message": message,
            "qbo_calls": qbo_calls,
        },
    )


def failed(
    db: Database,
    *,
    account_id: str | None = None,
    reason_code: str | None = None,
    customer_id: str | None = None,
    limit: int = 1000,
) -> list[Row]:
    return db.all(
        "ledger_failed",
        {
            "account_id": account_id,
            "reason_code": reason_code,
            "customer_id": customer_id,
            "limit": limit,
        },
    )


def summary(db: Database, account_id: str | None = None) -> list[Row]:
    return db.all("ledger_summary", {"account_id": account_id})


def recent_attempts(db: Database, account_id: str | None = None, limit: int = 50) -> list[Row]:
    return db.all("ledger_recent_attempts", {"account_id": account_id, "limit": limit})


def create_attempted(db: Database, key: DocKey) -> bool:
    """Whether an earlier attempt may have created the document in QBO."""
    return db.one("intent_exists", key.params()) is not None


def record_create_intent(db: Database, key: DocKey, request_id: str) -> None:
    """Committed at once, in its own transaction, before the create request leaves."""
    db.execute("intent_record", {**key.params(), "request_id": request_id})
