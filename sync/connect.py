"""Connecting an account to a QBO company, disconnecting it, and how the connection fares: one
flow for the admin API (`api/connect.py`) and the CLI (`sequence-qbo connect`).

Intuit's rules (docs/connecting-qbo.md):
- the authorize URL carries a `state` that is random, single use, bound to the account (and to
  whether the account may move to another company) and expires after `STATE_TTL`. Only its
  SHA-256 is stored; the callback's `state` is checked before anything else;
- the code is exchanged only once the store's rules allow the connection (one account per
  company, no move to another company unless asked for at `begin`);
- disconnecting revokes the refresh token at Intuit's revoke endpoint (which ends the access
  token too); documents then fail `qbo_not_connected` and are re-synced after a reconnect.

Neither the state, the code nor a token is ever logged or put into an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qbo import errors
from qbo.connection import ClientFactory, Disconnected
from store import connections
from store.connections import ConnectRefused, RealmChange
from store.db import Database

__all__ = [
    "STATE_TTL",
    "Authorization",
    "ConnectFailed",
    "Connected",
    "ConnectionHealth",
    "begin",
    "disconnect",
    "disconnected_in_qbo",
    "finish",
    "health",
]

log = logging.getLogger(__name__)

STATE_TTL = dt.timedelta(minutes=10)
# Intuit's refresh-token horizons (docs/qbo-behaviours.md#oauth-20): about 100 days rolling
# while used, five years at most.
REFRESH_ROLLING = dt.timedelta(days=100)
REFRESH_HARD = dt.timedelta(days=5 * 365)


def _hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


@dataclass(frozen=True)
class Authorization:
    """Where to send the merchant's browser, and until when the state is valid."""

    url: str
    expires_at: dt.datetime
    state: str  # for the CLI's own listener; the admin API never returns it on its own


def begin(
    db: Database, factory: ClientFactory[RealmChange], account_id: str, *, new_company: bool
) -> Authorization:
    """A fresh state bound to the account, stored hashed, and Intuit's authorize URL with it.
    Raises `errors.ConfigError` when the Intuit app is not configured."""
    state = secrets.token_urlsafe(32)
    url = factory.oauth.authorize_url(state)  # checks the client id first
    connections.create_state(
        db,
        _hash(state),
        account_id,
        new_company=new_company,
        ttl_seconds=int(STATE_TTL.total_seconds()),
    )
    expires_at = dt.datetime.now(dt.UTC) + STATE_TTL
    log.info("authorization started for account %s (new company: %s)", account_id, new_company)
    return Authorization(url, expires_at, state)


class ConnectFailed(Exception):
    """The callback did not connect anything; no token was stored. `reason` is stable."""

    def __init__(self, reason: str, message: str, account_id: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.account_id = reason, message, account_id


@dataclass(frozen=True)
class Connected:
    account_id: str
    realm_id: str
    company_name: str | None
    change: RealmChange | None  # when the account moved to another company


def finish(
    db: Database, factory: ClientFactory[RealmChange], query: Mapping[str, str]
) -> Connected:
    """Completes the authorization Intuit redirected back with (`state`, `code`, `realmId`, or
    `error`). The state is checked and used up first; raises `ConnectFailed`."""
    account_id, new_company = _take_state(db, query.get("state", ""))
    error = query.get("error")
    if error:
        reason = "access_denied" if error == "access_denied" else "authorization_failed"
        raise ConnectFailed(
            reason, f"Intuit did not authorize the connection ({error[:40]})", account_id
        )
    code, realm_id = query.get("code", ""), query.get("realmId", "")
    if not code or not realm_id:
        raise ConnectFailed(
            "invalid_callback", "the callback carries no code or realmId", account_id
        )
    try:
        change = factory.complete_connect(account_id, code, realm_id, new_company=new_company)
    except ConnectRefused as exc:
        raise ConnectFailed(exc.reason, str(exc), account_id) from None
    except errors.QboError as exc:
        raise ConnectFailed(
            "token_exchange_failed", f"Intuit did not exchange the code: {exc}", account_id
        ) from None
    name = _company_name(db, factory, account_id, realm_id)
    return Connected(account_id, realm_id, name, change)


def _take_state(db: Database, state: str) -> tuple[str, bool]:
    """(account id, new company) the state was bound to; used up whatever comes next."""
    digest = _hash(state)
    pending = connections.take_state(db, digest) if state else None
    # The lookup is by a hash the caller cannot steer; compare again in constant time anyway.
    if pending is None or not hmac.compare_digest(pending.state_hash, digest):
        raise ConnectFailed(
            "invalid_state",
            "this authorization is unknown or was already used: start connecting again",
        )
    if not pending.fresh:
        raise ConnectFailed(
            "state_expired",
            f"this authorization expired ({int(STATE_TTL.total_seconds() // 60)} minutes): "
            "start connecting again",
            pending.account_id,
        )
    return pending.account_id, pending.new_company


def _company_name(
    db: Database, factory: ClientFactory[RealmChange], account_id: str, realm_id: str
) -> str | None:
    """CompanyInfo's name, recorded for the connection page (best effort: the connection
    stands without it)."""
    try:
        info = factory.for_account(account_id)[1].company_info()
    except errors.QboError as exc:
        log.warning("could not read the company name of realm %s: %s", realm_id, exc)
        return None
    name = info.get("CompanyName")
    name = str(name) if name else None
    connections.set_company_name(db, account_id, realm_id, name)
    return name


def disconnect(
    factory: ClientFactory[RealmChange],
    account_id: str,
    reason: str = "disconnected by an operator",
) -> Disconnected | None:
    """Revokes at Intuit and marks the connection disconnected; None if there is none."""
    return factory.disconnect(account_id, reason)


@dataclass(frozen=True)
class QboDisconnect:
    """What Intuit's disconnect URL found: the account holding the realm (if any) and whether
    it is now disconnected."""

    account_id: str | None
    disconnected: bool


def disconnected_in_qbo(
    db: Database, factory: ClientFactory[RealmChange], realm_id: str
) -> QboDisconnect:
    """A merchant disconnected the app inside QuickBooks. Intuit then sends the browser to our
    disconnect URL with `realmId`, unsigned: the connection is marked disconnected only when
    Intuit refuses its tokens (`ClientFactory.revoked_at_intuit`)."""
    account_id = connections.holder_of_realm(db, realm_id) if realm_id else None
    if account_id is None:
        return QboDisconnect(None, False)
    try:
        revoked = factory.revoked_at_intuit(account_id)
    except errors.QboError as exc:  # Intuit unreachable: nothing is believed or changed
        log.warning("could not check the disconnect of realm %s with Intuit: %s", realm_id, exc)
        revoked = False
    if not revoked:
        return QboDisconnect(account_id, False)
    factory.disconnect(account_id, "disconnected inside QuickBooks")
    return QboDisconnect(account_id, True)


@dataclass(frozen=True)
class ConnectionHealth:
    """An account's connection as `GET …/connection` reports it."""

    account_id: str
    realm_id: str | None
    company_name: str | None
    environment: str
    status: str  # active | needs_reauth | disconnected
    status_reason: str | None
    reauth_required: bool  # Intuit refused the refresh token (invalid_grant): connect again
    connected_since: dt.datetime
    disconnected_at: dt.datetime | None
    access_token_expires_at: dt.datetime | None
    refresh_token_issued_at: dt.datetime | None
    refresh_token_age_days: float | None
    refresh_token_expires_at: dt.datetime | None  # rolling, about 100 days
    refresh_token_hard_expires_at: dt.datetime | None  # five years after the first grant
    refresh_count: int
    last_successful_call_at: dt.datetime | None
    last_webhook_at: dt.datetime | None
    last_cdc_poll_at: dt.datetime | None
    last_cdc_error: str | None


def health(db: Database, account_id: str) -> ConnectionHealth | None:
    row = connections.health(db, account_id)
    return None if row is None else _health(row)


def _health(row: Mapping[str, Any]) -> ConnectionHealth:
    active = row["status"] == "active"
    issued = (row["refreshed_at"] or row["connected_at"]) if active else None
    age = (row["db_now"] - issued).total_seconds() / 86400 if issued else None
    rolling = row["refresh_expires_at"] or (issued + REFRESH_ROLLING if issued else None)
    hard = row["refresh_hard_expires_at"] or (
        row["connected_at"] + REFRESH_HARD if active else None
    )
    return ConnectionHealth(
        account_id=row["account_id"],
        realm_id=row["realm_id"],
        company_name=row["company_name"],
        environment=row["environment"],
        status=row["status"],
        status_reason=row["status_reason"],
        reauth_required=row["status"] == "needs_reauth",
        connected_since=row["connected_at"],
        disconnected_at=row["disconnected_at"],
        access_token_expires_at=row["access_expires_at"],
        refresh_token_issued_at=issued,
        refresh_token_age_days=round(age, 3) if age is not None else None,
        refresh_token_expires_at=rolling if active else None,
        refresh_token_hard_expires_at=hard if active else None,
        refresh_count=row["refresh_count"],
        last_successful_call_at=row["last_call_at"],
        last_webhook_at=row["last_webhook_at"],
        last_cdc_poll_at=row["last_cdc_poll_at"],
        last_cdc_error=row["last_cdc_error"],
    )
