"""OAuth 2.0 with Intuit: authorize URL, code exchange, refresh, revoke.

Endpoints: Intuit's for production and Intuit's sandbox (the same OAuth servers serve both);
for the emulator, read from its discovery document under `qbo_base_url`
(`/.well-known/openid_configuration`, the same keys as Intuit's). Token calls are form-encoded
with HTTP Basic client authentication (Intuit's .NET SDK discovery.json, intuit/oauth-pythonclient).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from qbo import errors
from qbo.config import QboConfig
from qbo.transport import Answer, Transport

__all__ = ["INTUIT", "SCOPE", "OAuthClient", "OAuthEndpoints", "TokenSet", "api_base_url"]

SCOPE = "com.intuit.quickbooks.accounting"
API_BASE = {
    "production": "https://quickbooks.api.intuit.com",
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
}


@dataclass(frozen=True)
class OAuthEndpoints:
    authorize: str
    token: str
    revoke: str


INTUIT = OAuthEndpoints(
    authorize="https://appcenter.intuit.com/connect/oauth2",
    token="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",  # noqa: S106 (a URL)
    revoke="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
)


@dataclass(frozen=True)
class TokenSet:
    """A token response. The tokens never appear in repr()."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: dt.datetime
    refresh_expires_at: dt.datetime | None = None
    refresh_hard_expires_at: dt.datetime | None = None


def api_base_url(settings: QboConfig) -> str:
    """The API's base URL: `qbo_base_url` if set, else Intuit's for the environment."""
    if settings.qbo_base_url:
        return settings.qbo_base_url.rstrip("/")
    if settings.qbo_environment not in API_BASE:
        raise errors.ConfigError("the emulator environment needs SEQUENCE_QBO_QBO_BASE_URL")
    return API_BASE[settings.qbo_environment]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OAuthClient:
    """Talks to the OAuth endpoints. Construction does no I/O (discovery happens on first use)."""

    def __init__(
        self,
        settings: QboConfig,
        transport: Transport,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.settings, self.transport, self.clock = settings, transport, clock
        self._endpoints: OAuthEndpoints | None = None

    def endpoints(self) -> OAuthEndpoints:
        if self._endpoints is None:
            self._endpoints = self._discover()
        return self._endpoints

    def _discover(self) -> OAuthEndpoints:
        if self.settings.qbo_environment != "emulator":
            return INTUIT
        url = api_base_url(self.settings) + "/.well-known/openid_configuration"
        doc = self.transport.send("GET", url).body
        if not isinstance(doc, Mapping) or "token_endpoint" not in doc:
            raise errors.ConfigError(f"no OpenID discovery document at {url}")
        return OAuthEndpoints(
            doc["authorization_endpoint"], doc["token_endpoint"], doc["revocation_endpoint"]
        )

    def _client(self) -> tuple[str, str]:
        cid, secret = self.settings.qbo_client_id, self.settings.qbo_client_secret
        if not cid or secret is None:
            raise errors.ConfigError(
                "set SEQUENCE_QBO_QBO_CLIENT_ID and "
                "SEQUENCE_QBO_QBO_CLIENT_SECRET (from the Intuit app)"
            )
        return cid, secret.get_secret_value()

    def authorize_url(self, state: str) -> str:
        params = {
            "client_id": self._client()[0],
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": self.settings.qbo_redirect_uri,
            "state": state,
        }
        return f"{self.endpoints().authorize}?{urlencode(params)}"

    def exchange_code(self, code: str) -> TokenSet:
        return self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.settings.qbo_redirect_uri,
            }
        )

    def refresh(self, refresh_token: str) -> TokenSet:
        """Raises `ReauthRequired` when Intuit answers invalid_grant."""
        return self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, token: str) -> None:
        answer = self.transport.send(
            "POST", self.endpoints().revoke, json_body={"token": token}, auth=self._client()
        )
        if answer.status != 200:
            raise _oauth_error(answer, "revoke")

    def _token(self, form: dict[str, str]) -> TokenSet:
        # Asks for the 5-year hard expiry too (2025 refresh-token policy; Intuit's PHP SDK c61fade).
        answer = self.transport.send(
            "POST",
            self.endpoints().token,
            data=form,
            auth=self._client(),
            headers={"x-include-refresh-token-hard-expires-in": "true"},
        )
        if answer.status != 200 or not isinstance(answer.body, Mapping):
            raise _oauth_error(answer, form["grant_type"])
        return self._token_set(answer.body)

    def _token_set(self, body: Mapping[str, Any]) -> TokenSet:
        now = self.clock()

        def after(key: str) -> dt.datetime | None:
            seconds = body.get(key)
            return now + dt.timedelta(seconds=int(seconds)) if seconds is not None else None

        return TokenSet(
            str(body["access_token"]),
            str(body["refresh_token"]),
            after("expires_in") or now + dt.timedelta(hours=1),
            after("x_refresh_token_expires_in"),
            after("x_refresh_token_hard_expires_in"),
        )


def _oauth_error(answer: Answer, what: str) -> errors.QboError:
    """RFC 6749 errors: `{"error": "invalid_grant"}`; never echoes the body beyond that code."""
    code = answer.body.get("error") if isinstance(answer.body, Mapping) else None
    kw: dict[str, Any] = {"status": answer.status, "code": code, "intuit_tid": answer.intuit_tid}
    if code == "invalid_grant":
        return errors.ReauthRequired(
            f"Intuit refused the grant ({what}): the account must connect again", **kw
        )
    if code == "invalid_client" or answer.status == 401:
        return errors.ConfigError(f"Intuit refused the client id/secret ({what})", **kw)
    if answer.status == 429:
        return errors.Throttled(f"OAuth {what} throttled", **kw)
    if answer.status >= 500:
        return errors.ServerError(f"OAuth {what} failed on Intuit's side", **kw)
    return errors.AuthError(f"OAuth {what} failed", **kw)
