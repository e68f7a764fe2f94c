"""Connections: which realm an account uses, its tokens, and clients bound to them.

Token refresh rules (docs/architecture.md#connections-and-security; Intuit's side:
docs/qbo-behaviours.md#oauth-20):
1. Refresh before expiry (access tokens last 3600 s): a margin of `skew`.
2. Serialize refreshes across processes with `select ... for update` on the connection row:
   Intuit rotates refresh tokens, so two workers refreshing with the same one race into
   `invalid_grant`. A waiter that finds the token already replaced uses the new one.
3. Persist the newest refresh token in the same transaction as the refresh.
4. `invalid_grant` marks the connection `needs_reauth` (committed), then raises ReauthRequired.

A connection belongs to one realm: tokens are kept per (account, realm), and a token manager
whose account moved to another QBO company stops handing out tokens (the old realm's client
must not go on writing there). Storing a connection follows `store.connections.connect`: a move
to another company is refused unless asked for (`new_company`), and a realm belongs to one
account.

Connections are kept in a `ConnectionStore` and quotas in a `QuotaStore`, given by the
composition root (PostgreSQL: `sequence_qbo/qbo_store.py`), so this package does not know
where they live.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from qbo import errors
from qbo.cache import CompanyCache
from qbo.client import QboClient
from qbo.config import QboConfig
from qbo.crypto import TokenCipher
from qbo.oauth import OAuthClient, TokenSet, api_base_url
from qbo.quota import Limits, QuotaStore, SharedQuota
from qbo.retry import RetryPolicy
from qbo.transport import Transport

__all__ = [
    "ClientFactory",
    "ConnectionStore",
    "Disconnected",
    "EncryptedTokens",
    "LockedConnection",
    "StoredTokens",
]

log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# A connection row: realm_id, status, status_reason, the encrypted tokens, access_expires_at and
# the database's clock (db_now).
Row = Mapping[str, Any]


@dataclass(frozen=True)
class EncryptedTokens:
    """A token response as it is kept at rest."""

    access_token_enc: bytes
    refresh_token_enc: bytes
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime | None = None
    refresh_hard_expires_at: dt.datetime | None = None


# What the store reports when an account moved to another QBO company (what it archived).
Change = TypeVar("Change", covariant=True)


class LockedConnection(Protocol):
    """An account's connection row, locked until the block that holds it ends (one
    transaction: what is marked or saved here commits together)."""

    @property
    def row(self) -> Row | None: ...

    def mark_needs_reauth(self, reason: str) -> None: ...

    def save_refreshed(self, tokens: EncryptedTokens) -> None: ...


class ConnectionStore(Protocol[Change]):
    """Where connections live. `connect` and `check_connect` refuse what the store's rules
    refuse (a move to another company unless `new_company`, a realm held by another account)
    by raising."""

    def get(self, account_id: str) -> Row | None: ...

    def locked(self, account_id: str) -> AbstractContextManager[LockedConnection]: ...

    def check_connect(self, account_id: str, realm_id: str, *, new_company: bool) -> None: ...

    def connect(
        self,
        account_id: str,
        realm_id: str,
        environment: str,
        tokens: EncryptedTokens,
        *,
        new_company: bool = False,
    ) -> Change | None: ...

    def mark_disconnected(self, account_id: str, reason: str) -> int: ...

    def record_call(self, realm_id: str) -> None:
        """QBO answered a call of the realm (connection health; called about once a minute)."""


# How often a process tells the store that a realm's calls succeed (`last_call_at`).
RECORD_CALL_EVERY = 60.0


@dataclass(frozen=True)
class Disconnected:
    """A connection was marked disconnected; `revoked`: Intuit confirmed the revocation."""

    revoked: bool


def encrypt(cipher: TokenCipher, tokens: TokenSet) -> EncryptedTokens:
    return EncryptedTokens(
        cipher.encrypt(tokens.access_token),
        cipher.encrypt(tokens.refresh_token),
        tokens.expires_at,
        tokens.refresh_expires_at,
        tokens.refresh_hard_expires_at,
    )


def require_active(row: Row | None, account_id: str) -> Row:
    if row is None:
        raise errors.NotConnected(
            f"account {account_id} has no QBO connection; "
            f"run `sequence-qbo connect --account {account_id}`"
        )
    if row["status"] == "needs_reauth":
        raise errors.ReauthRequired(
            f"account {account_id}'s QBO connection needs "
            f"re-authorization ({row['status_reason']}); run "
            f"`sequence-qbo connect --account {account_id}`"
        )
    if row["status"] != "active":
        raise errors.NotConnected(f"account {account_id} is disconnected from QBO")
    return row


class StoredTokens:
    """The access token of one account, refreshed under a row lock (see module docstring)."""

    def __init__(
        self,
        store: ConnectionStore,
        account_id: str,
        cipher: TokenCipher,
        oauth: OAuthClient,
        *,
        skew: dt.timedelta = dt.timedelta(minutes=5),
        clock: Callable[[], dt.datetime] = _utcnow,
        realm_id: str | None = None,
    ) -> None:
        self.store, self.account_id, self.cipher, self.oauth = store, account_id, cipher, oauth
        self.skew, self.clock = skew, clock
        self.realm_id = realm_id  # None: whichever realm the account is connected to
        self._current: tuple[str, dt.datetime] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StoredTokens(account_id={self.account_id!r})"

    def access_token(self) -> str:
        current = self._current
        if current is not None and current[1] - self.skew > self.clock():
            return current[0]
        row = self._same_realm(self.store.get(self.account_id))
        token = self.cipher.decrypt(row["access_token_enc"])
        if row["access_expires_at"] - self.skew > row["db_now"]:
            self._current = (token, row["access_expires_at"])
            return token
        return self.refresh(stale=token)

    def refresh(self, *, stale: str) -> str:
        """Refreshes unless another worker (thread or process) already replaced `stale`."""
        with self._lock:  # threads of this process queue here, processes on the row lock
            with self.store.locked(self.account_id) as locked:
                outcome = self._refresh_locked(locked, stale)
            # Raised only now, after the commit: the needs_reauth status must stick.
            if isinstance(outcome, errors.ReauthRequired):
                self._current = None
                log.error("QBO connection of account %s needs re-authorization", self.account_id)
                raise outcome
            self._current = outcome
            return outcome[0]

    def _refresh_locked(
        self, locked: LockedConnection, stale: str
    ) -> tuple[str, dt.datetime] | errors.ReauthRequired:
        row = self._same_realm(locked.row)
        token = self.cipher.decrypt(row["access_token_enc"])
        if token != stale and row["access_expires_at"] - self.skew > row["db_now"]:
            return token, row["access_expires_at"]  # refreshed by another worker meanwhile
        try:
            tokens = self.oauth.refresh(self.cipher.decrypt(row["refresh_token_enc"]))
        except errors.ReauthRequired as exc:
            reason = f"refresh refused by Intuit: {exc.code}"
            locked.mark_needs_reauth(reason)
            return exc
        # The newest refresh token is stored in the transaction that holds the lock.
        locked.save_refreshed(encrypt(self.cipher, tokens))
        log.info("refreshed the QBO access token of account %s", self.account_id)
        return tokens.access_token, tokens.expires_at

    def _same_realm(self, row: Row | None) -> Row:
        """The active connection row, still of this manager's realm: the new company's token
        sent with the old company's realm id would be refused anyway, and the old company's
        token must no longer be used."""
        active = require_active(row, self.account_id)
        if self.realm_id is not None and active["realm_id"] != self.realm_id:
            self._current = None
            raise errors.NotConnected(
                f"account {self.account_id} is now connected to QBO company "
                f"{active['realm_id']}, no longer to {self.realm_id}"
            )
        return active


class ClientFactory(Generic[Change]):
    """Clients bound to an account's realm, sharing one HTTP pool, token managers, quota state
    and the Preferences/CompanyInfo cache. Refuses to start without a token encryption key.
    Construction does no I/O."""

    def __init__(
        self,
        settings: QboConfig,
        store: ConnectionStore[Change],
        quotas: QuotaStore,
        *,
        transport: Transport | None = None,
        limits: Limits | None = None,
        policy: RetryPolicy | None = None,
        cache: CompanyCache | None = None,
    ) -> None:
        self.settings, self.store, self.quotas = settings, store, quotas
        self.cipher = TokenCipher(settings.token_encryption_key)
        self.transport = transport or Transport()
        self.oauth = OAuthClient(settings, self.transport)
        self.limits, self.policy = limits or Limits(), policy or RetryPolicy()
        self.cache = cache or CompanyCache()
        self._tokens: dict[str, StoredTokens] = {}
        self._quotas: dict[str, SharedQuota] = {}
        self._recorded: dict[str, float] = {}  # realm → monotonic time of the last record_call
        self._lock = threading.Lock()

    def __call__(self, account_id: str) -> QboClient:
        """The account's client: a factory is a `qbo.client.ClientProvider`."""
        return self.for_account(account_id)[1]

    def for_account(self, account_id: str) -> tuple[str, QboClient]:
        """(realm id, client) of the account's connection; NotConnected / ReauthRequired."""
        row = require_active(self.store.get(account_id), account_id)
        realm_id: str = row["realm_id"]
        with self._lock:
            quota = self._quotas.get(realm_id) or SharedQuota(self.quotas, realm_id, self.limits)
            self._quotas[realm_id] = quota
        client = QboClient(
            realm_id,
            base_url=api_base_url(self.settings),
            transport=self.transport,
            tokens=self.tokens(account_id, realm_id),
            quota=quota,
            policy=self.policy,
            cache=self.cache,
            answered=lambda: self._answered(realm_id),
        )
        return realm_id, client

    def _answered(self, realm_id: str) -> None:
        """Tells the store, at most every RECORD_CALL_EVERY seconds per realm, that QBO
        answers; a store that cannot take it must not fail the call that succeeded."""
        now = time.monotonic()
        with self._lock:
            last = self._recorded.get(realm_id)
            if last is not None and now - last < RECORD_CALL_EVERY:
                return
            self._recorded[realm_id] = now
        try:
            self.store.record_call(realm_id)
        except Exception as exc:  # health bookkeeping only
            log.warning("could not record the last QBO call of realm %s: %s", realm_id, exc)

    def tokens(self, account_id: str, realm_id: str | None = None) -> StoredTokens:
        """The account's token manager; bound to `realm_id` when given (a manager of the realm
        the account left is replaced, not reused)."""
        with self._lock:
            current = self._tokens.get(account_id)
            if current is None or (realm_id is not None and current.realm_id != realm_id):
                current = StoredTokens(
                    self.store, account_id, self.cipher, self.oauth, realm_id=realm_id
                )
                self._tokens[account_id] = current
            return current

    def complete_connect(
        self, account_id: str, code: str, realm_id: str, *, new_company: bool = False
    ) -> Change | None:
        """Exchanges the authorization code and stores the connection; the change when the
        account moved to another company (`new_company`). A refused connection (the store
        raises, e.g. `store.connections.ConnectRefused`) is refused before the code is
        exchanged, or, if it became refused meanwhile, its fresh tokens are revoked."""
        self.store.check_connect(account_id, realm_id, new_company=new_company)
        tokens = self.oauth.exchange_code(code)
        try:
            change = self.store.connect(
                account_id,
                realm_id,
                self.settings.qbo_environment,
                encrypt(self.cipher, tokens),
                new_company=new_company,
            )
        except Exception:
            # Refused, or not stored at all: tokens nobody holds are revoked, not left valid.
            self._revoke(account_id, tokens.refresh_token)
            raise
        with self._lock:
            self._tokens.pop(account_id, None)
        log.info("account %s connected to QBO realm %s", account_id, realm_id)
        return change

    def _revoke(self, account_id: str, refresh_token: str) -> bool:
        try:
            self.oauth.revoke(refresh_token)
        except errors.QboError as exc:
            log.warning("revoking account %s's QBO tokens failed: %s", account_id, exc)
            return False
        return True

    def disconnect(
        self, account_id: str, reason: str = "disconnected by an operator"
    ) -> Disconnected | None:
        """Revokes the refresh token at Intuit (which ends the access token too; best effort:
        a failed revoke is logged and reported) and forgets the tokens. None if there is no
        connection."""
        row = self.store.get(account_id)
        if row is None:
            return None
        revoked = False
        if row["refresh_token_enc"] is not None:
            revoked = self._revoke(account_id, self.cipher.decrypt(row["refresh_token_enc"]))
        self.store.mark_disconnected(account_id, reason)
        self._forget(account_id)
        log.info("account %s disconnected from QBO (%s)", account_id, reason)
        return Disconnected(revoked)

    def revoked_at_intuit(self, account_id: str) -> bool:
        """Whether Intuit no longer honours the account's tokens, found by refreshing them
        (which stores the new ones when it still does). Intuit's disconnect URL is a plain
        browser redirect that anybody can forge, so it is believed only once Intuit confirms."""
        row = self.store.get(account_id)
        if row is None or row["status"] != "active":
            return False
        tokens = self.tokens(account_id, row["realm_id"])
        try:
            tokens.refresh(stale=self.cipher.decrypt(row["access_token_enc"]))
        except errors.ReauthRequired:
            return True
        return False

    def _forget(self, account_id: str) -> None:
        with self._lock:
            self._tokens.pop(account_id, None)

    def close(self) -> None:
        """Closes the HTTP pool; the stores stay their owner's."""
        self.transport.close()
