"""What the operator console reads (store/sql/console.sql)."""

from __future__ import annotations

from typing import Any

from store.db import Database, Row

__all__ = ["accounts", "document_snapshot", "recent_synced", "state_counts", "unlinked_customers"]


def accounts(db: Database) -> list[Row]:
    return db.all("console_accounts")


def state_counts(db: Database) -> dict[str, dict[str, int]]:
    """account → state → documents."""
    out: dict[str, dict[str, int]] = {}
    for row in db.all("console_state_counts"):
        out.setdefault(row["account_id"], {})[row["state"]] = row["documents"]
    return out


def recent_synced(db: Database, account_id: str, limit: int = 25) -> list[Row]:
    return db.all("console_recent_synced", {"account_id": account_id, "limit": limit})


def document_snapshot(
    db: Database, account_id: str, document_type: str, sequence_id: str
) -> dict[str, Any] | None:
    row = db.one(
        "console_document_snapshot",
        {"account_id": account_id, "document_type": document_type, "sequence_id": sequence_id},
    )
    return row["snapshot"] if row is not None else None


def unlinked_customers(db: Database, account_id: str, limit: int = 200) -> list[Row]:
    return db.all("console_unlinked_customers", {"account_id": account_id, "limit": limit})
