"""The sync ledger: what each Sequence document became in QBO, and how its last sync went."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from store.db import Database, Row, Statement, StoreError, Tx


class DocumentType(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    CUSTOMER = "customer"


class RealmMismatch(StoreError):
    """A sync's result is for another QBO company than the ledger row's (migration 0010): the
    account moved while the sync was in flight. Transient: the next attempt syncs in the
    account's company now."""


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


def get(tx: Tx | Database, key: DocKey) -> Row | None:
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
    """Raises `RealmMismatch` when the row belongs to another realm (it is left as it is)."""
    written = tx.execute(
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
    if written == 0:
        raise RealmMismatch(
            f"{key.document_type} {key.sequence_id} of account {key.account_id} belongs to "
            f"another QBO company than {realm_id} (the account moved): not recorded"
        )


def mark_failed(tx: Tx, key: DocKey, *, reason_code: str, message: str) -> None:
    tx.execute(*_failed(key, reason_code, message))


def _failed(key: DocKey, reason_code: str, message: str) -> Statement:
    return ("ledger_mark_failed", {**key.params(), "reason_code": reason_code, "message": message})


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
    tx.execute(*_attempt(key, outcome, reason_code, message, qbo_calls))


def _attempt(
    key: DocKey, outcome: str, reason_code: str | None, message: str | None, qbo_calls: int
) -> Statement:
    return (
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


# -- the document's lease (migration 0009): one sync at a time, no transaction held across QBO --
def claim(tx: Tx | Database, key: DocKey, token: str, seconds: float) -> Row | None:
    """Takes the document's lease for `seconds` (free, expired, or already `token`'s); the row
    when taken, None while another sync holds it."""
    return tx.one("ledger_claim", {**key.params(), "lease_token": token, "seconds": seconds})


def release(tx: Tx | Database, key: DocKey, token: str) -> None:
    """Gives the lease back (only when `token` still holds it)."""
    tx.execute(*_release(key, token))


def _release(key: DocKey, token: str) -> Statement:
    return ("ledger_release", {**key.params(), "lease_token": token})


# -- a document sync's own steps, each one statement (sync.documents: a sync's round trips) -----
def claim_statement(
    key: DocKey,
    token: str,
    seconds: float,
    *,
    customer_id: str,
    snapshot: dict[str, Any],
    snapshot_hash: str,
    occurred_at: Any,
) -> Statement:
    """`receive` and `claim` under the document's advisory lock, as one statement (to send
    with others: `Database.pipeline`). Its rows: the ledger row when the lease is taken (its
    `snapshot_hash` is `snapshot_hash` unless a newer snapshot is stored), none while another
    sync holds it; then nothing is stored."""
    return (
        "ledger_claim_snapshot",
        {
            **key.params(),
            "customer_id": customer_id,
            "snapshot": Jsonb(snapshot),
            "snapshot_hash": snapshot_hash,
            "occurred_at": occurred_at,
            "lease_token": token,
            "seconds": seconds,
        },
    )


def get_statement(key: DocKey) -> Statement:
    """`get`, to send with others (`Database.pipeline`)."""
    return ("ledger_get", key.params())


def record_synced(
    db: Database,
    key: DocKey,
    *,
    token: str,
    release: bool,
    realm_id: str,
    qbo_id: str,
    sync_token: str,
    payload_hash: str,
    request_id: str,
    exchange_rate: Decimal | None,
    snapshot_hash: str | None,
    qbo_calls: int,
    waiters: bool = False,
) -> list[DocKey]:
    """`mark_synced`, `mark_snapshot_synced`, `record_attempt` and (when `release`) `release`
    in one statement under the document's advisory lock; with `waiters`, then what the
    invoice's sync clears (`waking_for_invoice`), in the same round trip: read after the lock
    was taken, so a credit note that decided to wait under it is seen. Raises `RealmMismatch`
    as `mark_synced` (nothing is written)."""
    record: Statement = (
        "ledger_record_synced",
        {
            **key.params(),
            "lease_token": token,
            "release": release,
            "realm_id": realm_id,
            "qbo_id": qbo_id,
            "qbo_sync_token": sync_token,
            "payload_hash": payload_hash,
            "request_id": request_id,
            "exchange_rate": exchange_rate,
            "snapshot_hash": snapshot_hash,
            "qbo_calls": qbo_calls,
        },
    )
    if not waiters:
        [recorded] = db.pipeline(record)
        waking: list[Row] = []
    else:
        wake = {"account_id": key.account_id, "invoice_id": key.sequence_id}
        recorded, waking = db.pipeline(record, ("ledger_waking_for_invoice", wake))
    if recorded[0]["recorded"] == 0:
        raise RealmMismatch(
            f"{key.document_type} {key.sequence_id} of account {key.account_id} belongs to "
            f"another QBO company than {realm_id} (the account moved): not recorded"
        )
    return [_key(row) for row in waking]


def record_skipped(
    db: Database | Tx, key: DocKey, token: str, *, snapshot_hash: str | None, qbo_calls: int
) -> None:
    """A sync that writes nothing to QBO, in one statement: `mark_snapshot_synced` (when
    `snapshot_hash` is given), `record_attempt` skipped and `release`."""
    db.execute(
        "ledger_record_skipped",
        {
            **key.params(),
            "lease_token": token,
            "snapshot_hash": snapshot_hash,
            "qbo_calls": qbo_calls,
        },
    )


def mark_snapshot_synced(tx: Tx, key: DocKey, snapshot_hash: str | None) -> None:
    """Records which snapshot QBO holds now (replays of it are skipped without a QBO call)."""
    tx.execute("ledger_mark_snapshot_synced", {**key.params(), "snapshot_hash": snapshot_hash})


def request_void(tx: Tx, key: DocKey) -> None:
    """Remembers that the invoice is voided in Sequence: applied once it is in QBO."""
    tx.execute("ledger_request_void", key.params())


def adopt(
    tx: Tx, key: DocKey, *, customer_id: str, realm_id: str, qbo_id: str, sync_token: str
) -> None:
    """Records a QBO object found for a document whose row has no QBO id (created in QBO
    before the connection): a new row is `synced`, an existing one keeps its status."""
    tx.execute(
        "ledger_adopt",
        {
            **key.params(),
            "customer_id": customer_id,
            "realm_id": realm_id,
            "qbo_id": qbo_id,
            "qbo_sync_token": sync_token,
        },
    )


def intent_exists(tx: Tx, key: DocKey) -> bool:
    """Whether an earlier attempt may have created the document in QBO (read in the claim)."""
    return tx.one("intent_exists", key.params()) is not None


def record_intent(tx: Tx | Database, key: DocKey, request_id: str) -> None:
    """Before the create request leaves: committed with `tx` (or alone, given the database)."""
    tx.execute("intent_record", {**key.params(), "request_id": request_id})


# -- failure states (migration 0008, docs/failures.md) -----------------------------------------
def _state(
    tx: Tx,
    key: DocKey,
    status: str,
    reason: str,
    message: str,
    *,
    waits_for: DocKey | None = None,
    customer_id: str | None = None,
) -> None:
    tx.execute(*_state_statement(key, status, reason, message, waits_for, customer_id))


def _state_statement(
    key: DocKey,
    status: str,
    reason: str,
    message: str,
    waits_for: DocKey | None,
    customer_id: str | None = None,
) -> Statement:
    return (
        "ledger_record_state",
        {
            **key.params(),
            "customer_id": customer_id,
            "status": status,
            "reason_code": reason,
            "message": message,
            "waits_for_type": str(waits_for.document_type) if waits_for else None,
            "waits_for_id": waits_for.sequence_id if waits_for else None,
        },
    )


def record_verdict(
    db: Database | Tx,
    key: DocKey,
    token: str,
    *,
    status: str,
    reason: str,
    message: str,
    qbo_calls: int,
    waits_for: DocKey | None = None,
) -> None:
    """A sync's failed, retrying or waiting result: the state (as `mark_failed`,
    `mark_retrying`, `mark_waiting`), the attempt, and the lease given back. Given the
    database, in one round trip and one transaction (`Database.pipeline`); else in `tx`."""
    if status == "failed":
        state = _failed(key, reason, message)
    else:
        state = _state_statement(
            key, status, reason, message, waits_for if status == "waiting" else None
        )
    statements = (state, _attempt(key, status, reason, message, qbo_calls), _release(key, token))
    if isinstance(db, Database):
        db.pipeline(*statements)
        return
    for name, params in statements:
        db.execute(name, params)


def mark_retrying(
    tx: Tx, key: DocKey, reason: str, message: str, *, customer_id: str | None = None
) -> None:
    """Transient trouble we wait out; the row is created when there is none yet."""
    _state(tx, key, "retrying", reason, message, customer_id=customer_id)


def mark_waiting(
    tx: Tx,
    key: DocKey,
    reason: str,
    message: str,
    waits_for: DocKey | None,
    *,
    customer_id: str | None = None,
) -> None:
    """Waits on `waits_for` (found again by `waiting_on` when that one syncs)."""
    _state(tx, key, "waiting", reason, message, waits_for=waits_for, customer_id=customer_id)


def record_failure(
    tx: Tx, key: DocKey, reason: str, message: str, *, customer_id: str | None = None
) -> None:
    """Like `mark_failed`, but also when the row does not exist yet (customer.updated)."""
    _state(tx, key, "failed", reason, message, customer_id=customer_id)


def clear_state(tx: Tx, key: DocKey) -> None:
    """A failed/retrying/waiting row whose cause went away without a document sync
    (customer.updated went through): synced again."""
    tx.execute("ledger_clear_state", key.params())


def waiting_on(
    tx: Tx | Database, account_id: str, document_type: str, sequence_id: str
) -> list[DocKey]:
    rows = tx.all(
        "ledger_waiting_on",
        {
            "account_id": account_id,
            "waits_for_type": str(document_type),
            "waits_for_id": sequence_id,
        },
    )
    return [_key(row) for row in rows]


def waking_for_invoice(tx: Tx | Database, account_id: str, invoice_id: str) -> list[DocKey]:
    """What the invoice's sync clears: documents waiting on it, credit notes failed for it."""
    rows = tx.all("ledger_waking_for_invoice", {"account_id": account_id, "invoice_id": invoice_id})
    return [_key(row) for row in rows]


def waking_for_customer(tx: Tx | Database, account_id: str, customer_id: str) -> list[DocKey]:
    """What linking the customer clears (reason customer_not_linked)."""
    rows = tx.all(
        "ledger_waking_for_customer", {"account_id": account_id, "customer_id": customer_id}
    )
    return [_key(row) for row in rows]


def problems(
    db: Database | Tx,
    *,
    account_id: str | None = None,
    status: str | None = None,
    reason_code: str | None = None,
    limit: int = 1000,
) -> list[Row]:
    """Documents failed, retrying or waiting, newest state first."""
    return db.all(
        "ledger_problems",
        {"account_id": account_id, "status": status, "reason_code": reason_code, "limit": limit},
    )


def publication_due(row: Row) -> bool:
    """Whether the row's state (status, reason, and the payload QBO holds) differs from the one
    qbo.sync_status announced last."""
    return (row["status"], row["reason_code"], row.get("payload_hash")) != (
        row.get("published_status"),
        row.get("published_reason"),
        row.get("published_hash"),
    )


def mark_published(
    db: Database | Tx,
    key: DocKey,
    status: str,
    reason_code: str | None,
    payload_hash: str | None = None,
) -> None:
    db.execute(
        "ledger_mark_published",
        {
            **key.params(),
            "status": status,
            "reason_code": reason_code,
            "payload_hash": payload_hash,
        },
    )


def _key(row: Row) -> DocKey:
    return DocKey(row["account_id"], DocumentType(row["document_type"]), row["sequence_id"])
