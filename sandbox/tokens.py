"""OAuth 2.0 state: authorization codes, expiring access tokens, rotating refresh tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sandbox import faults
from sandbox.clock import Clock
from sandbox.config import SandboxConfig


class OAuthError(Exception):
    """An RFC 6749 error; Intuit answers `{"error": "invalid_grant"}` and the like."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error, self.status = error, status


@dataclass
class Grant:
    """One connection of an app to a realm (what a refresh-token chain belongs to)."""

    realm_id: str
    client_id: str
    scope: str
    current_refresh: str = ""
    revoked: bool = False
    access: set[str] = field(default_factory=set)


@dataclass
class RefreshState:
    grant: Grant
    expires_at: float
    superseded_at: float | None = None


class TokenStore:
    def __init__(self, config: SandboxConfig, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self.codes: dict[str, tuple[str, str, str, str, float]] = {}
        self.access: dict[str, tuple[Grant, float]] = {}
        self.refresh: dict[str, RefreshState] = {}

    def issue_code(self, realm_id: str, client_id: str, redirect_uri: str, scope: str) -> str:
        code = "AB11" + secrets.token_urlsafe(32)
        expires = self.clock.timestamp() + self.config.authorization_code_ttl
        self.codes[code] = (realm_id, client_id, redirect_uri, scope, expires)
        return code

    def exchange_code(self, code: str, client_id: str, redirect_uri: str | None) -> dict[str, Any]:
        # Codes are single use: popped whether or not the rest checks out.
        found = self.codes.pop(code, None)
        if found is None or found[4] < self.clock.timestamp() or found[1] != client_id:
            raise OAuthError("invalid_grant")
        if redirect_uri is not None and redirect_uri != found[2]:
            raise OAuthError("invalid_grant")
        return self._issue(Grant(found[0], client_id, found[3]))

    def mint(self, realm_id: str, ttl: int | None = None) -> dict[str, Any]:
        grant = Grant(realm_id, "sandbox-admin", "com.intuit.quickbooks.accounting")
        return self._issue(grant, ttl=ttl)

    def _issue(
        self, grant: Grant, ttl: int | None = None, refresh: str | None = None
    ) -> dict[str, Any]:
        now, ttl = self.clock.timestamp(), ttl or self.config.access_token_ttl
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2" + secrets.token_urlsafe(48)
        self.access[access] = (grant, now + ttl)
        grant.access.add(access)
        if refresh is None:
            refresh = "AB11" + secrets.token_urlsafe(36)
            self.refresh[refresh] = RefreshState(grant, now + self.config.refresh_token_ttl)
            grant.current_refresh = refresh
        return {
            "token_type": "bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": self.config.refresh_token_ttl,
            "access_token": access,
            "realmId": grant.realm_id,
        }

    def use_refresh(self, token: str, client_id: str) -> dict[str, Any]:
        """Rotate: the old token keeps working for the grace period, then `invalid_grant`."""
        state, now = self.refresh.get(token), self.clock.timestamp()
        if state is None or state.grant.revoked or state.expires_at < now:
            raise OAuthError("invalid_grant")
        if state.grant.client_id not in (client_id, "sandbox-admin"):
            raise OAuthError("invalid_grant")
        if state.superseded_at is not None:
            if now - state.superseded_at > self.config.refresh_grace_seconds:
                raise OAuthError("invalid_grant")
            # Within the grace period: a new access token, the chain's current refresh token.
            return self._issue(state.grant, refresh=state.grant.current_refresh)
        state.superseded_at = now
        return self._issue(state.grant)

    def revoke(self, token: str) -> None:
        """Revoking either token ends the whole connection, as Intuit's revoke endpoint does."""
        state = self.refresh.get(token)
        grant = state.grant if state else (self.access.get(token) or (None,))[0]
        if grant is None:
            return
        grant.revoked = True
        for access in grant.access:
            self.access.pop(access, None)

    def revoke_realm(self, realm_id: str) -> int:
        """A user disconnected every app from the company inside QuickBooks: every grant of
        the realm ends (access and refresh tokens). How many grants were live."""
        grants = {id(s.grant): s.grant for s in self.refresh.values()}
        grants.update({id(g): g for g, _ in self.access.values()})
        live = [g for g in grants.values() if g.realm_id == realm_id and not g.revoked]
        for grant in live:
            grant.revoked = True
            for access in grant.access:
                self.access.pop(access, None)
        return len(live)

    def check(self, header: str | None, realm_id: str) -> None:
        """Raise the gateway's 401 (or 403 for a token of another realm)."""
        epoch_ms = int(self.clock.timestamp() * 1000)
        if not header or not header.lower().startswith("bearer "):
            raise faults.unauthorized("Authorization header missing", epoch_ms)
        token = header[7:].strip()
        found = self.access.get(token)
        if found is None or found[0].revoked:
            raise faults.unauthorized(f"Token invalid: {token[:12]}...", epoch_ms)
        if found[1] < self.clock.timestamp():
            raise faults.unauthorized(f"Token expired: {token[:12]}...", epoch_ms)
        if found[0].realm_id != realm_id:
            raise faults.forbidden(f"Token is not authorized for realm {realm_id}", epoch_ms)
