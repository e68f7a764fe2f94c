"""Customer snapshots (latest per account and customer)."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from store.db import Database, Row, Tx


def snapshot_hash(snapshot: dict[str, Any]) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def save_snapshot(
    db: Database | Tx,
    *,
    account_id: str,
    customer_id: str,
    snapshot: dict[str, Any],
    event_id: UUID,
    occurred_at: Any,
) -> bool:
    """Stores the snapshot; False when it was unchanged or older than the stored one."""
    row = db.one(
        "upsert_customer_snapshot",
        {
            "account_id": account_id,
            "customer_id": customer_id,
            "snapshot": Jsonb(snapshot),
            "snapshot_hash": snapshot_hash(snapshot),
            "event_id": event_id,
            "occurred_at": occurred_at,
        },
    )
    return row is not None


def get_snapshot(db: Database, account_id: str, customer_id: str) -> Row | None:
    return db.one("get_customer_snapshot", {"account_id": account_id, "customer_id": customer_id})


def list_snapshots(db: Database, account_id: str | None = None, limit: int = 100) -> list[Row]:
    return db.all("list_customer_snapshots", {"account_id": account_id, "limit": limit})
