"""Reconciliation storage: payment facts per QBO invoice, the `invoice.paid` outbox, the versioned
payment states (the outbox of `invoice.payment_status_changed`) and the CDC watermarks
(migrations 0006 and 0011, queries in sql/reconcile.sql), and what the reconciler last read of
each QBO Invoice and Payment (migration 0015)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from psycopg.types.json import Jsonb

from store.db import Database, Row, Tx


def invoices_of_ours(tx: Tx, realm_id: str, qbo_ids: Iterable[str]) -> list[Row]:
    ids = sorted(set(qbo_ids))
    if not ids:
        return []
    return tx.all("reconcile_invoices_of_ours", {"realm_id": realm_id, "qbo_ids": ids})


def invoices_paid_by(tx: Tx, realm_id: str, payment_id: str) -> list[str]:
    rows = tx.all("reconcile_invoices_paid_by", {"realm_id": realm_id, "payment_id": payment_id})
    return [r["qbo_invoice_id"] for r in rows]


@dataclass(frozen=True)
class Read:
    """What the reconciler read of one QBO entity: its LastUpdatedTime, when (our clock, taken
    before the request) and whether it was gone."""

    entity: str  # "Invoice" or "Payment"
    entity_id: str
    last_updated: dt.datetime
    read_at: dt.datetime
    deleted: bool = False


def last_read(tx: Tx, realm_id: str, entity: str, entity_id: str) -> Read | None:
    """What the reconciler last read of the entity (migration 0015), None before any read."""
    row = tx.one(
        "reconcile_read_get", {"realm_id": realm_id, "entity": entity, "entity_id": entity_id}
    )
    if row is None:
        return None
    return Read(entity, entity_id, row["last_updated"], row["read_at"], row["deleted"])


def save_reads(tx: Tx, realm_id: str, reads: Iterable[Read]) -> None:
    """Records the reads; a row keeps the latest LastUpdatedTime and stays deleted once so."""
    for read in reads:
        tx.execute("reconcile_read_save", {"realm_id": realm_id, **asdict(read)})


def recorded_facts(tx: Tx, realm_id: str, qbo_invoice_id: str) -> Row | None:
    """The invoice's facts as last recorded (status, amount_paid, qbo_payment_ids), locked."""
    return tx.one("reconcile_facts", {"realm_id": realm_id, "qbo_invoice_id": qbo_invoice_id})


def save_facts(tx: Tx, facts: Mapping[str, Any]) -> None:
    tx.execute("reconcile_save_facts", facts)


def add_invoice_paid(tx: Tx, event: Mapping[str, Any]) -> bool:
    """Queues invoice.paid; False when the invoice already has one (unique per invoice)."""
    return tx.execute("outbox_add_invoice_paid", event) == 1


def latest_payment_state(tx: Tx, realm_id: str, qbo_invoice_id: str) -> Row | None:
    """The invoice's last recorded payment state (version, status, amount_paid, payments)."""
    return tx.one("payment_event_latest", {"realm_id": realm_id, "qbo_invoice_id": qbo_invoice_id})


def add_payment_state(tx: Tx, event: Mapping[str, Any]) -> None:
    """Records a new version; `payments` is a list of JSON objects."""
    tx.execute("payment_event_add", {**event, "payments": Jsonb(list(event["payments"]))})


def claim_unsent_payment_states(tx: Tx, limit: int) -> list[Row]:
    """The oldest unsent announcements, earlier versions first, locked until `tx` ends."""
    return tx.all("payment_events_claim_unsent", {"limit": limit})


def mark_payment_states_sent(tx: Tx, ids: Iterable[int]) -> None:
    tx.execute("payment_events_mark_sent", {"ids": list(ids)})


def payment_history(
    db: Database, account_id: str, *, invoice_id: str | None = None, limit: int = 1000
) -> list[Row]:
    """Every recorded payment state of the account's invoices (or one invoice), in order."""
    return db.all(
        "payment_history", {"account_id": account_id, "invoice_id": invoice_id, "limit": limit}
    )


def claim_unsent(tx: Tx, limit: int) -> list[Row]:
    """The oldest unsent rows, locked until `tx` ends."""
    return tx.all("outbox_claim_unsent", {"limit": limit})


def mark_sent(tx: Tx, ids: Iterable[int]) -> None:
    tx.execute("outbox_mark_sent", {"ids": list(ids)})


def realms_to_poll(db: Database) -> list[Row]:
    """(account_id, realm_id) of every active connection, one account per realm."""
    return db.all("cdc_realms")


def lock_watermark(tx: Tx, realm_id: str) -> Row | None:
    """The realm's watermark row, locked until `tx` ends; None while another pass holds it."""
    tx.execute("cdc_watermark_ensure", {"realm_id": realm_id})
    return tx.one("cdc_watermark_lock", {"realm_id": realm_id})


def advance_watermark(
    tx: Tx, realm_id: str, watermark: dt.datetime, mode: str, notices: int
) -> None:
    tx.execute(
        "cdc_watermark_advance",
        {"realm_id": realm_id, "watermark": watermark, "mode": mode, "notices": notices},
    )


def record_poll_error(db: Database, realm_id: str, error: str) -> None:
    db.execute("cdc_watermark_failed", {"realm_id": realm_id, "error": error[:2000]})


def open_invoices(tx: Tx, realm_id: str) -> list[Row]:
    return tx.all("cdc_open_invoices", {"realm_id": realm_id})


def paid_list(
    db: Database, *, account_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[Row]:
    return db.all("paid_list", {"account_id": account_id, "status": status, "limit": limit})
