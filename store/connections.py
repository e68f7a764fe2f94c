"""QBO connections: one row per Sequence account, tokens already encrypted by the caller.

A QBO company (realm) is a tenant boundary (migration 0010):
- an account connected to one company is not silently reconnected to another: its links,
  mappings and ledger references name objects of the first. Moving it is asked for explicitly
  (`new_company=True`), and then everything of the old company is archived in the same
  transaction that stores the new connection: kept for audit, never read by a sync again;
- a realm is held by at most one account (active or waiting for re-authorization), so its
  webhooks and CDC changes have one owner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from store.db import Database, Row, StoreError, Tx

_UNIQUE_VIOLATION = "23505"


class ConnectRefused(StoreError):
    """The connection was not stored; `reason` is a stable snake_case code."""

    reason = "connect_refused"


class CompanyChangeRefused(ConnectRefused):
    """The account is connected to another QBO company and moving it was not asked for."""

    reason = "qbo_company_changed"

    def __init__(self, account_id: str, old_realm_id: str, new_realm_id: str) -> None:
        super().__init__(
            f"account {account_id} is connected to QBO company {old_realm_id}, not "
            f"{new_realm_id}: its customer links, item and tax mappings and synced documents "
            f"belong to {old_realm_id}; moving it to another company archives them and must be "
            "asked for explicitly"
        )
        self.account_id, self.old_realm_id, self.new_realm_id = (
            account_id,
            old_realm_id,
            new_realm_id,
        )


class RealmHeld(ConnectRefused):
    """Another account holds the realm (one account per QBO company)."""

    reason = "realm_held_by_another_account"

    def __init__(self, realm_id: str, holder: str | None) -> None:
        by = f"account {holder}" if holder else "another account"
        super().__init__(
            f"QBO company {realm_id} is already connected to {by}; a QBO company belongs to "
            "one account at a time (disconnect it there first)"
        )
        self.realm_id, self.holder = realm_id, holder


@dataclass(frozen=True)
class RealmChange:
    """What moving an account to another QBO company archived."""

    account_id: str
    old_realm_id: str
    new_realm_id: str
    links: int
    product_mappings: int
    tax_mappings: int
    settings: int  # 1 when settings naming old-company objects were archived and cleared
    ledger_refs: int  # documents whose QBO object in the old company was archived


class EncryptedTokens(Protocol):
    """Tokens as they are kept at rest, encrypted by the caller (`qbo.connection.encrypt`)."""

    @property
    def access_token_enc(self) -> bytes: ...
    @property
    def refresh_token_enc(self) -> bytes: ...
    @property
    def access_expires_at(self) -> dt.datetime: ...
    @property
    def refresh_expires_at(self) -> dt.datetime | None: ...
    @property
    def refresh_hard_expires_at(self) -> dt.datetime | None: ...


def _token_params(tokens: EncryptedTokens) -> dict[str, object]:
    return {
        "access_token_enc": tokens.access_token_enc,
        "refresh_token_enc": tokens.refresh_token_enc,
        "access_expires_at": tokens.access_expires_at,
        "refresh_expires_at": tokens.refresh_expires_at,
        "refresh_hard_expires_at": tokens.refresh_hard_expires_at,
    }


def connect(
    db: Database,
    account_id: str,
    realm_id: str,
    environment: str,
    tokens: EncryptedTokens,
    *,
    new_company: bool = False,
) -> RealmChange | None:
    """Stores the account's connection to `realm_id` (first connection, re-authorization, or
    with `new_company` a move to another company). The change when the account moved.
    Raises `CompanyChangeRefused` or `RealmHeld`; then nothing was written.

    `new_company` for the company the account is already connected to archives what it still
    holds of any other company: an account moved before moves were checked (migration 0010)
    kept the old company's links and references, which the sync refuses to use
    (`realm_changed`). The settings are kept then: nothing says which company they name."""
    with db.transaction() as tx:
        tx.execute("connection_lock_account", {"account_id": account_id})
        old_realm = _check(tx, account_id, realm_id, new_company)
        moving = old_realm is not None and old_realm != realm_id
        change = None
        if moving or (new_company and _holds_other_companies(tx, account_id, realm_id)):
            change = _archive(tx, account_id, old_realm or realm_id, realm_id, settings=moving)
        _store(tx, account_id, realm_id, environment, tokens, moving=moving)
    return change


def check_connect(db: Database, account_id: str, realm_id: str, *, new_company: bool) -> None:
    """The checks of `connect`, before there are tokens to store (the OAuth code exchange)."""
    with db.transaction() as tx:
        _check(tx, account_id, realm_id, new_company)


def _check(tx: Tx, account_id: str, realm_id: str, new_company: bool) -> str | None:
    """The account's current realm, once connecting it to `realm_id` is allowed."""
    holder = tx.one("connection_realm_holder", {"account_id": account_id, "realm_id": realm_id})
    if holder is not None:
        raise RealmHeld(realm_id, holder["account_id"])
    row = tx.one("get_connection", {"account_id": account_id})
    old_realm: str | None = None if row is None else row["realm_id"]
    if old_realm is not None and old_realm != realm_id and not new_company:
        raise CompanyChangeRefused(account_id, old_realm, realm_id)
    return old_realm


def _store(
    tx: Tx,
    account_id: str,
    realm_id: str,
    environment: str,
    tokens: EncryptedTokens,
    *,
    moving: bool,
) -> None:
    params = {
        "account_id": account_id,
        "realm_id": realm_id,
        "environment": environment,
        "realm_change_allowed": moving,
        **_token_params(tokens),
    }
    try:
        stored = tx.one("upsert_connection", params)
    except StoreError as exc:
        if exc.sqlstate != _UNIQUE_VIOLATION:
            raise
        # Another account connected the realm between our check and our write.
        raise RealmHeld(realm_id, None) from exc
    if stored is None:  # the checks above run under the account's lock: a defect if reached
        raise CompanyChangeRefused(account_id, "(another company)", realm_id)


def _holds_other_companies(tx: Tx, account_id: str, realm_id: str) -> bool:
    row = tx.one("connection_other_companies", {"account_id": account_id, "realm_id": realm_id})
    return bool(row and row["found"])


def _archive(
    tx: Tx, account_id: str, old_realm_id: str, new_realm_id: str, *, settings: bool
) -> RealmChange:
    ids = {"account_id": account_id, "old_realm_id": old_realm_id, "new_realm_id": new_realm_id}
    recorded = tx.one("realm_change_record", ids)
    assert recorded is not None  # an insert with `returning` always returns its row
    params = {**ids, "change_id": recorded["id"]}
    links = tx.execute("archive_customer_links", params)
    products = tx.execute("archive_product_mappings", params)
    taxes = tx.execute("archive_tax_mappings", params)
    cleared = 0
    if settings:
        cleared = tx.execute("archive_settings", params)
        tx.execute("clear_company_settings", params)
    ledger_rows = tx.all("archive_ledger_refs", params)
    tx.execute("archive_create_intents", params)
    return RealmChange(
        account_id,
        old_realm_id,
        new_realm_id,
        links=links,
        product_mappings=products,
        tax_mappings=taxes,
        settings=cleared,
        ledger_refs=int(ledger_rows[0]["archived"]) if ledger_rows else 0,
    )


def get(db: Database, account_id: str) -> Row | None:
    return db.one("get_connection", {"account_id": account_id})


def realm_of(db: Database, account_id: str) -> str | None:
    """The QBO company the account is (or was last) connected to; None if it never was."""
    row = get(db, account_id)
    return None if row is None else row["realm_id"]


def realm_changes(db: Database, account_id: str) -> list[Row]:
    """The account's moves between QBO companies, newest first."""
    return db.all("realm_changes_list", {"account_id": account_id})


def lock(tx: Tx, account_id: str) -> Row | None:
    """The row, locked until the transaction ends (serializes token refreshes)."""
    return tx.one("lock_connection", {"account_id": account_id})


def save_refreshed(tx: Tx, account_id: str, tokens: EncryptedTokens) -> None:
    tx.execute("save_refreshed_tokens", {"account_id": account_id, **_token_params(tokens)})


def mark_needs_reauth(tx: Tx, account_id: str, reason: str) -> None:
    tx.execute("mark_needs_reauth", {"account_id": account_id, "reason": reason})


def mark_disconnected(db: Database, account_id: str, reason: str) -> int:
    return db.execute("mark_disconnected", {"account_id": account_id, "reason": reason})


def list_all(db: Database) -> list[Row]:
    return db.all("list_connections")


# -- Connecting over HTTP (migration 0012) -----------------------------------------------------


@dataclass(frozen=True)
class PendingState:
    """What a stored OAuth state was bound to, once taken (it is gone from the table then)."""

    state_hash: bytes
    account_id: str
    new_company: bool
    fresh: bool  # False: past its expiry


def create_state(
    db: Database, state_hash: bytes, account_id: str, *, new_company: bool, ttl_seconds: int
) -> None:
    """Stores a state's hash (never the state) bound to the account; prunes expired ones."""
    with db.transaction() as tx:
        tx.execute("oauth_state_prune")
        tx.execute(
            "oauth_state_create",
            {
                "state_hash": state_hash,
                "account_id": account_id,
                "new_company": new_company,
                "ttl_seconds": ttl_seconds,
            },
        )


def take_state(db: Database, state_hash: bytes) -> PendingState | None:
    """The state's binding, deleted in the same statement (single use); None if unknown."""
    row = db.one("oauth_state_take", {"state_hash": bytes(state_hash)})
    if row is None:
        return None
    return PendingState(
        bytes(row["state_hash"]), row["account_id"], row["new_company"], bool(row["fresh"])
    )


def set_company_name(db: Database, account_id: str, realm_id: str, name: str | None) -> None:
    db.execute(
        "connection_set_company_name",
        {"account_id": account_id, "realm_id": realm_id, "company_name": name},
    )


def record_call(db: Database, realm_id: str) -> None:
    """QBO answered a call of the realm (`last_call_at`; written at most every 30 s)."""
    db.execute("connection_record_call", {"realm_id": realm_id})


def record_webhook(db: Database, realm_id: str) -> None:
    """A signed webhook named the realm (`last_webhook_at`)."""
    db.execute("connection_record_webhook", {"realm_id": realm_id})


def holder_of_realm(db: Database, realm_id: str) -> str | None:
    row = db.one("connection_holder_of_realm", {"realm_id": realm_id})
    return None if row is None else str(row["account_id"])


def health(db: Database, account_id: str) -> Row | None:
    """The connection with its health stamps and the realm's last CDC pass."""
    return db.one("connection_health", {"account_id": account_id})


def ping(db: Database) -> None:
    """Raises `StoreError` unless PostgreSQL answers a query (readiness probes)."""
    db.one("database_ping")
