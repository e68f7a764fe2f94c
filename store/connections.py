"""QBO connections: one row per Sequence account, tokens already encrypted by the caller."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from store.db import Database, Row, Tx


@dataclass(frozen=True)
class EncryptedTokens:
    access_token_enc: bytes
    refresh_token_enc: bytes
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime | None = None
    refresh_hard_expires_at: dt.datetime | None = None

    def params(self) -> dict[str, object]:
        return {
            "access_token_enc": self.access_token_enc,
            "refresh_token_enc": self.refresh_token_enc,
            "access_expires_at": self.access_expires_at,
            "refresh_expires_at": self.refresh_expires_at,
            "refresh_hard_expires_at": self.refresh_hard_expires_at,
        }


def upsert(
    db: Database, account_id: str, realm_id: str, environment: str, tokens: EncryptedTokens
) -> None:
    db.execute(
        "upsert_connection",
        {
            "account_id": account_id,
            "realm_id": realm_id,
            "environment": environment,
            **tokens.params(),
        },
    )


def get(db: Database, account_id: str) -> Row | None:
    return db.one("get_connection", {"account_id": account_id})


def lock(tx: Tx, account_id: str) -> Row | None:
    """The row, locked until the transaction ends (serializes token refreshes)."""
    return tx.one("lock_connection", {"account_id": account_id})


def save_refreshed(tx: Tx, account_id: str, tokens: EncryptedTokens) -> None:
    tx.execute("save_refreshed_tokens", {"account_id": account_id, **tokens.params()})


def mark_needs_reauth(tx: Tx, account_id: str, reason: str) -> None:
    tx.execute("mark_needs_reauth", {"account_id": account_id, "reason": reason})


def mark_disconnected(db: Database, account_id: str, reason: str) -> int:
    return db.execute("mark_disconnected", {"account_id": account_id, "reason": reason})


def list_all(db: Database) -> list[Row]:
    return db.all("list_connections")
