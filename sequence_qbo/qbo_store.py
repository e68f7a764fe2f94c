"""The QBO client's shared state in PostgreSQL: `qbo`'s `ConnectionStore` and `QuotaStore` over
the store's tables, and the client factory built on them.

`qbo/` does not know where connections and quotas live, and `store/` does not know what QBO is:
this module, in the composition root, joins the two.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from qbo import errors
from qbo.config import QboConfig
from qbo.connection import ClientFactory, EncryptedTokens, encrypt
from qbo.crypto import TokenCipher
from qbo.oauth import TokenSet
from qbo.quota import Limits
from store import connections, quotas
from store.db import Database, Row, StoreError, Tx

__all__ = ["PgConnections", "PgQuotas", "client_factory", "store_connection", "window"]

log = logging.getLogger(__name__)


class _Locked:
    """`qbo.connection.LockedConnection` inside the transaction that holds the row lock."""

    def __init__(self, tx: Tx, account_id: str) -> None:
        self.tx, self.account_id = tx, account_id
        self.row = connections.lock(tx, account_id)

    def mark_needs_reauth(self, reason: str) -> None:
        connections.mark_needs_reauth(self.tx, self.account_id, reason)

    def save_refreshed(self, tokens: EncryptedTokens) -> None:
        connections.save_refreshed(self.tx, self.account_id, tokens)


class PgConnections:
    """`qbo.connection.ConnectionStore` over `qbo_connections` (store/connections.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, account_id: str) -> Row | None:
        return connections.get(self.db, account_id)

    @contextmanager
    def locked(self, account_id: str) -> Iterator[_Locked]:
        with self.db.transaction() as tx:
            yield _Locked(tx, account_id)

    def check_connect(self, account_id: str, realm_id: str, *, new_company: bool) -> None:
        connections.check_connect(self.db, account_id, realm_id, new_company=new_company)

    def connect(
        self,
        account_id: str,
        realm_id: str,
        environment: str,
        tokens: EncryptedTokens,
        *,
        new_company: bool = False,
    ) -> connections.RealmChange | None:
        change = connections.connect(
            self.db, account_id, realm_id, environment, tokens, new_company=new_company
        )
        if change is not None:
            log.warning(
                "account %s moved from QBO realm %s to %s: archived %d links, %d item and %d "
                "tax mappings, %d document references",
                account_id,
                change.old_realm_id,
                realm_id,
                change.links,
                change.product_mappings,
                change.tax_mappings,
                change.ledger_refs,
            )
        return change

    def mark_disconnected(self, account_id: str, reason: str) -> int:
        return connections.mark_disconnected(self.db, account_id, reason)

    def record_call(self, realm_id: str) -> None:
        connections.record_call(self.db, realm_id)


class PgQuotas:
    """`qbo.quota.QuotaStore` over `qbo_quota_windows` and `qbo_quota_slots`
    (store/quotas.py); a store that cannot answer is QBO's `Retryable` to the client."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure_realm(self, realm_id: str, slots: int) -> None:
        quotas.ensure_realm(self.db, realm_id, slots)

    def grant(self, realm_id: str, holder: str, limits: Limits) -> tuple[int | None, float]:
        try:
            return quotas.grant(self.db, realm_id, holder, window(limits))
        except StoreError as exc:
            raise errors.Retryable(f"quota store unavailable: {exc}", retry_after=1.0) from exc

    def release(self, realm_id: str, slot: int, holder: str) -> None:
        try:
            quotas.release_slot(self.db, realm_id, slot, holder)
        except StoreError as exc:
            raise errors.Retryable(f"quota store unavailable: {exc}") from exc


def window(limits: Limits) -> quotas.Window:
    """The store's window for QBO's limits (the rule: `qbo.quota.admit`)."""
    return quotas.Window(
        per_second=limits.per_second,
        per_minute=limits.per_minute,
        second_window=limits.second_window,
        minute_window=limits.minute_window,
        slots=limits.concurrent,
        lease_seconds=limits.lease_seconds,
    )


def client_factory(
    settings: QboConfig, db: Database, **options: Any
) -> ClientFactory[connections.RealmChange]:
    """QBO clients whose connections and quotas live in `db` (which stays the caller's to
    close). `options`: those of `ClientFactory` (transport, limits, policy, cache)."""
    return ClientFactory(settings, PgConnections(db), PgQuotas(db), **options)


def store_connection(
    db: Database,
    key: SecretStr | str | TokenCipher,
    account_id: str,
    realm_id: str,
    access_token: str,
    refresh_token: str,
    expires_at: dt.datetime,
    *,
    environment: str = "emulator",
    refresh_expires_at: dt.datetime | None = None,
    new_company: bool = False,
) -> connections.RealmChange | None:
    """Registers (or replaces) a connection with tokens obtained elsewhere (tests, demo), under
    the same rules as `connect` (`store.connections.ConnectRefused`)."""
    cipher = key if isinstance(key, TokenCipher) else TokenCipher(key)
    tokens = TokenSet(access_token, refresh_token, expires_at, refresh_expires_at)
    return PgConnections(db).connect(
        account_id, realm_id, environment, encrypt(cipher, tokens), new_company=new_company
    )
