"""Connecting QuickBooks over HTTP (docs/connecting-qbo.md#connect-over-http): what Sequence's
dashboard calls, and the two addresses Intuit sends a merchant's browser to.

- `POST {admin}/connect` (admin token): Intuit's authorize URL with a fresh state (10 minutes,
  single use, bound to the account and to `new_company`);
- `GET /oauth/callback` (public; Intuit's redirect URI): checks the state first, connects, and
  redirects to `SEQUENCE_QBO_OAUTH_RETURN_URL` with `status=connected`; a refused connection is
  a page saying why (with a link back carrying `status=error&reason=…` when the account is
  known); nothing is stored then;
- `POST {admin}/disconnect` (admin token): revokes at Intuit, marks the connection disconnected;
- `GET /oauth/disconnect` (public; the app's disconnect URL): a merchant disconnected inside
  QuickBooks; believed once Intuit refuses the tokens;
- `GET {admin}/connection` (admin token): the connection's health.

Query strings here carry codes and states: nothing logs them (serve runs without access logs).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.admin import ERRORS, PREFIX, authorizer, problem
from qbo import errors
from qbo.connection import ClientFactory
from store.connections import RealmChange
from store.db import Database
from sync import connect as flow

__all__ = ["CALLBACK_PATH", "DISCONNECT_PATH", "ConnectDeps", "admin_router", "public_router"]

CALLBACK_PATH = "/oauth/callback"
DISCONNECT_PATH = "/oauth/disconnect"


@dataclass(frozen=True)
class ConnectDeps:
    admin_token: str | None
    db: Database
    factory: ClientFactory[RealmChange]
    return_url: str | None = None  # Sequence's dashboard page the browser goes back to


class ConnectIn(BaseModel):
    new_company: bool = Field(
        False,
        description="allow moving an account already connected to one QBO company to another "
        "(the old company's links, mappings and document references are archived)",
    )


class AuthorizationOut(BaseModel):
    account_id: str
    authorize_url: str = Field(description="send the merchant's browser here")
    expires_at: dt.datetime
    new_company: bool


class DisconnectOut(BaseModel):
    account_id: str
    status: str = "disconnected"
    revoked: bool = Field(description="Intuit confirmed the revocation of the refresh token")


class ConnectionOut(BaseModel):
    account_id: str
    realm_id: str | None
    company_name: str | None
    environment: str
    status: str = Field(description="active | needs_reauth | disconnected")
    status_reason: str | None
    reauth_required: bool = Field(description="Intuit refused the refresh token (invalid_grant)")
    connected_since: dt.datetime
    disconnected_at: dt.datetime | None
    access_token_expires_at: dt.datetime | None
    refresh_token_issued_at: dt.datetime | None
    refresh_token_age_days: float | None
    refresh_token_expires_at: dt.datetime | None = Field(description="rolling, about 100 days")
    refresh_token_hard_expires_at: dt.datetime | None = Field(description="five-year limit")
    refresh_count: int
    last_successful_call_at: dt.datetime | None
    last_webhook_at: dt.datetime | None
    last_cdc_poll_at: dt.datetime | None
    last_cdc_error: str | None


def admin_router(deps: ConnectDeps) -> APIRouter:
    r = APIRouter(
        prefix=PREFIX,
        tags=["connection"],
        dependencies=[Depends(authorizer(deps.admin_token))],
        responses=ERRORS,
    )

    @r.post("/connect", summary="Start connecting QuickBooks: Intuit's authorize URL")
    def connect(account_id: str, body: ConnectIn | None = None) -> AuthorizationOut:
        new_company = body.new_company if body is not None else False
        try:
            auth = flow.begin(deps.db, deps.factory, account_id, new_company=new_company)
        except errors.ConfigError as exc:
            raise problem(503, "qbo_not_configured", str(exc)) from None
        except errors.QboError as exc:  # e.g. the emulator's discovery document unreachable
            raise problem(
                503, "qbo_unavailable", f"cannot prepare the authorization: {exc}"
            ) from None
        return AuthorizationOut(
            account_id=account_id,
            authorize_url=auth.url,
            expires_at=auth.expires_at,
            new_company=new_company,
        )

    @r.post("/disconnect", summary="Revoke the tokens at Intuit and disconnect")
    def disconnect(account_id: str) -> DisconnectOut:
        done = flow.disconnect(deps.factory, account_id)
        if done is None:
            raise problem(404, "not_connected", f"account {account_id} has no QBO connection")
        return DisconnectOut(account_id=account_id, revoked=done.revoked)

    @r.get("/connection", summary="The QBO connection's health")
    def connection(account_id: str) -> ConnectionOut:
        found = flow.health(deps.db, account_id)
        if found is None:
            raise problem(404, "not_connected", f"account {account_id} has no QBO connection")
        return ConnectionOut(**vars(found))

    return r


def public_router(deps: ConnectDeps) -> APIRouter:
    r = APIRouter(tags=["oauth"])

    @r.get(CALLBACK_PATH, include_in_schema=False)
    async def callback(request: Request) -> Response:
        query = dict(request.query_params)
        try:
            done = await run_in_threadpool(flow.finish, deps.db, deps.factory, query)
        except flow.ConnectFailed as exc:
            return _failed(deps.return_url, exc)
        if deps.return_url:
            back = _back(
                deps.return_url, done.account_id, status="connected", realm_id=done.realm_id
            )
            return RedirectResponse(back, status_code=303)
        name = f" ({done.company_name})" if done.company_name else ""
        return _page(
            200,
            "QuickBooks connected",
            f"Account {done.account_id} is connected to QuickBooks company {done.realm_id}{name}. "
            "You can close this window.",
        )

    @r.get(DISCONNECT_PATH, include_in_schema=False)
    async def disconnected(request: Request) -> Response:
        realm_id = request.query_params.get("realmId", "")
        outcome = await run_in_threadpool(flow.disconnected_in_qbo, deps.db, deps.factory, realm_id)
        if outcome.disconnected:
            text = "The app is disconnected from your QuickBooks company; nothing syncs any more."
        elif outcome.account_id is not None:
            text = "QuickBooks still accepts this app's connection; nothing was changed."
        else:
            text = "No account is connected to this QuickBooks company."
        if deps.return_url and outcome.account_id is not None:
            status = "disconnected" if outcome.disconnected else "connected"
            return RedirectResponse(_back(deps.return_url, outcome.account_id, status=status), 303)
        return _page(200, "QuickBooks disconnect", text)

    return r


def _failed(return_url: str | None, exc: flow.ConnectFailed) -> Response:
    """A page saying why; with a link back to the dashboard when the account is known."""
    link = None
    if return_url and exc.account_id is not None:
        link = _back(return_url, exc.account_id, status="error", reason=exc.reason)
    return _page(400, "QuickBooks was not connected", f"{exc.message} [{exc.reason}]", link)


def _back(return_url: str, account_id: str, **params: str) -> str:
    parts = urlsplit(return_url)
    query = "&".join(q for q in (parts.query, urlencode({"account_id": account_id, **params})) if q)
    return urlunsplit(parts._replace(query=query))


def _page(status: int, title: str, text: str, link: str | None = None) -> HTMLResponse:
    back = f'<p><a href="{html.escape(link)}">Back to Sequence</a></p>' if link is not None else ""
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{back}</body></html>"
    )
    headers: dict[str, Any] = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(body, status_code=status, headers=headers)
