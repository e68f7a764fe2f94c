"""Intuit's OAuth 2.0 and OpenID endpoints, served by the emulator under its own base URL."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sandbox.state import SandboxState
from sandbox.tokens import OAuthError

AUTHORIZE, TOKEN, REVOKE = "/connect/oauth2", "/oauth2/v1/tokens/bearer", "/oauth2/v1/tokens/revoke"
USERINFO, KEYS = "/v1/openid_connect/userinfo", "/oauth2/v1/keys"
# Not Intuit's: the emulator's stand-in for "Disconnect" in QuickBooks' My Apps.
DISCONNECT = "/_sandbox/realms/{realm_id}/disconnect"


def discovery(base: str) -> dict[str, Any]:
    """Same keys as Intuit's document; intuitlib's AuthClient accepts its URL as environment."""
    return {
        "issuer": base,
        "authorization_endpoint": base + AUTHORIZE,
        "token_endpoint": base + TOKEN,
        "userinfo_endpoint": base + USERINFO,
        "revocation_endpoint": base + REVOKE,
        "jwks_uri": base + KEYS,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": [
            "openid",
            "email",
            "profile",
            "address",
            "phone",
            "com.intuit.quickbooks.accounting",
            "com.intuit.quickbooks.payment",
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


def _basic(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        raise OAuthError("invalid_client", 401)
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", 401) from exc
    return client_id, secret


def _client(state: SandboxState, request: Request) -> str:
    client_id, secret = _basic(request)
    if not state.client_allowed(client_id, secret):
        raise OAuthError("invalid_client", 401)
    return client_id


def _error(exc: OAuthError) -> JSONResponse:
    return JSONResponse({"error": exc.error}, status_code=exc.status)


async def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode()))


def router(state: SandboxState) -> APIRouter:
    r = APIRouter()

    @r.get("/.well-known/openid_configuration")
    @r.get("/.well-known/openid_configuration/")
    @r.get("/.well-known/openid_sandbox_configuration/")
    async def well_known(request: Request) -> dict[str, Any]:
        return discovery(str(request.base_url).rstrip("/"))

    @r.get(AUTHORIZE)
    async def authorize(request: Request) -> Response:
        """Auto-approves: redirects straight back with code, state and realmId."""
        q = request.query_params
        if not state.client_allowed(q.get("client_id", ""), None):
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        realm = state.realm_for_authorize(q.get("realmId"), q.get("profile"))
        code = state.tokens.issue_code(
            realm.id, q.get("client_id", ""), q.get("redirect_uri", ""), q.get("scope", "")
        )
        args = {"code": code, "state": q.get("state", ""), "realmId": realm.id}
        return RedirectResponse(f"{q.get('redirect_uri', '')}?{urlencode(args)}", 302)

    @r.post(TOKEN)
    async def token(request: Request) -> Response:
        try:
            client_id = _client(state, request)
            form = await _form(request)
            answer = _grant(state, client_id, form)
        except OAuthError as exc:
            state.log.oauth("token", exc.status)
            return _error(exc)
        state.log.oauth("token", 200)
        if request.headers.get("x-include-refresh-token-hard-expires-in"):
            answer["x_refresh_token_hard_expires_in"] = 5 * 365 * 86400
        answer.pop("realmId", None)
        return JSONResponse(answer, headers={"cache-control": "no-store"})

    @r.post(REVOKE)
    async def revoke(request: Request) -> Response:
        try:
            _client(state, request)
        except OAuthError as exc:
            return _error(exc)
        body = json.loads(await request.body() or b"{}")
        state.tokens.revoke(str(body.get("token", "")))
        state.log.oauth("revoke", 200)
        return Response(status_code=200)

    @r.post(DISCONNECT)
    async def disconnect(realm_id: str, disconnect_url: str | None = None) -> Response:
        """What a user disconnecting the app inside QuickBooks does: the realm's grants end,
        then the browser goes to the app's disconnect URL with `realmId` (when given one)."""
        if realm_id not in state.realms:
            return JSONResponse({"error": "unknown realm"}, status_code=404)
        revoked = state.tokens.revoke_realm(realm_id)
        state.log.oauth("disconnect", 200)
        if disconnect_url:
            return RedirectResponse(f"{disconnect_url}?{urlencode({'realmId': realm_id})}", 303)
        return JSONResponse({"realm_id": realm_id, "revoked_grants": revoked})

    @r.get(USERINFO)
    async def userinfo() -> dict[str, Any]:
        return {
            "sub": "sandbox-user",
            "email": "owner@example.com",
            "emailVerified": True,
            "givenName": "Sandbox",
            "familyName": "User",
        }

    @r.get(KEYS)
    async def keys() -> dict[str, Any]:
        return {"keys": []}

    return r


def _grant(state: SandboxState, client_id: str, form: dict[str, str]) -> dict[str, Any]:
    kind = form.get("grant_type")
    if kind == "authorization_code":
        return state.tokens.exchange_code(form.get("code", ""), client_id, form.get("redirect_uri"))
    if kind == "refresh_token":
        return state.tokens.use_refresh(form.get("refresh_token", ""), client_id)
    raise OAuthError("unsupported_grant_type")
