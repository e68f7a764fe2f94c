"""The status page (docs/operating.md#status): recent syncs and failures per account, as plain HTML.

`GET /status` shows every account, `GET /status/{account_id}` one. Server-rendered (no
JavaScript); every value from the ledger goes through `html.escape`, since messages quote
names merchants typed. It needs the admin bearer token like the admin API (503 when none is
configured): browsers do not send one, so people reach it through Sequence's dashboard,
which proxies it with the token. Links are relative so they keep working behind that proxy.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from api import admin, documents
from api.admin import AdminDeps
from api.documents import AccountStatus
from store import ledger
from store.db import Database

__all__ = ["render", "router"]

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1f2933; background: #fafbfc; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { margin-top: 2rem; font-size: 1.2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; color: #52606d; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: .5rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e4e7eb;
         vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
.muted { color: #7b8794; } .synced, .created, .updated, .adopted { color: #1f7a3d; }
.failed { color: #b42318; font-weight: 600; } .pending, .skipped { color: #8a6d00; }
.retrying, .waiting { color: #b54708; font-weight: 600; }
.voided { color: #52606d; } code { font-size: 12px; }
section.account { border-top: 2px solid #d9dee4; }
"""


def router(deps: AdminDeps | None) -> APIRouter:
    """Served even without admin deps, to answer 503 like the admin API does then."""
    token = deps.token() if deps is not None else None
    r = APIRouter(tags=["status page"], dependencies=[Depends(admin.authorizer(token))])
    db = deps.services.db if deps is not None else None

    @r.get("/status", response_class=HTMLResponse, summary="Status page: every account")
    def overview(
        limit: int = Query(50, ge=1, le=1000, description="recent attempts and failures"),
    ) -> HTMLResponse:
        status = documents.read_status(_db(db), None, failures=limit, attempts=limit)
        states = read_states(_db(db), None, limit)
        return _page(render(status, link_accounts=True, states=states))

    @r.get("/status/{account_id}", response_class=HTMLResponse, summary="Status page: one account")
    def account(
        account_id: str,
        limit: int = Query(50, ge=1, le=1000, description="recent attempts and failures"),
    ) -> HTMLResponse:
        status = documents.read_status(_db(db), account_id, failures=limit, attempts=limit)
        states = read_states(_db(db), account_id, limit)
        return _page(render(status, link_accounts=False, states=states))

    return r


def _db(db: Database | None) -> Database:
    if db is None:  # the authorizer refuses first; this keeps the types honest
        raise admin.problem(503, "admin_api_disabled", "no admin token is configured")
    return db


def _page(body: str) -> HTMLResponse:
    # Ledger data behind a token: no cache may keep a copy.
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


@dataclass(frozen=True)
class DocumentState:
    """A document failed, retrying or waiting (docs/failures.md), and since when."""

    account_id: str
    document_type: str
    sequence_id: str
    customer_id: str | None
    status: str
    reason_code: str
    message: str | None
    attempts: int
    state_since: dt.datetime
    waits_for: str | None = None


def read_states(db: Database, account_id: str | None, limit: int) -> list[DocumentState]:
    """Documents failed, retrying or waiting, newest state first."""
    return [
        DocumentState(
            r["account_id"],
            r["document_type"],
            r["sequence_id"],
            r["customer_id"],
            r["status"],
            r["reason_code"],
            r["message"],
            r["attempts"],
            r["state_since"],
            f"{r['waits_for_type']} {r['waits_for_id']}" if r["waits_for_id"] else None,
        )
        for r in ledger.problems(db, account_id=account_id, limit=limit)
    ]


def render(
    status: AccountStatus,
    *,
    link_accounts: bool,
    states: Sequence[DocumentState] | None = None,
) -> str:
    """The whole page; one section per account, newest first within each table. `states`
    (documents failed, retrying or waiting) replaces the failed-only table when given."""
    accounts = _accounts(status, states or ())
    title = "sequence-qbo status" + (f": {status.account_id}" if status.account_id else "")
    back = "" if link_accounts else '<p><a href="../status">← all accounts</a></p>'
    sections = "".join(_section(status, a, link_accounts, states) for a in accounts)
    empty = '<p class="muted">No documents in the ledger yet.</p>'
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class='muted'>Rendered {_when(_now())}</p>{back}"
        f"{sections or empty}</body></html>"
    )


def _accounts(status: AccountStatus, states: Sequence[DocumentState]) -> list[str]:
    if status.account_id is not None:
        return [status.account_id]
    rows = (status.summary, status.failed, status.recent_attempts, states)
    return sorted({row.account_id for table in rows for row in table})


def _section(
    status: AccountStatus, account_id: str, link: bool, states: Sequence[DocumentState] | None
) -> str:
    name = _e(account_id)
    heading = f'<a href="status/{_e(quote(account_id, safe=""))}">{name}</a>' if link else name
    trouble = (
        _failures([r for r in status.failed if r.account_id == account_id])
        if states is None
        else _states([r for r in states if r.account_id == account_id])
    )
    return (
        f'<section class="account"><h2>Account {heading}</h2>'
        f"{_summary([r for r in status.summary if r.account_id == account_id])}"
        f"{trouble}"
        f"{_attempts([r for r in status.recent_attempts if r.account_id == account_id])}"
        f"</section>"
    )


def _states(rows: Sequence[DocumentState]) -> str:
    body = [
        (
            _e(r.document_type),
            _code(r.sequence_id),
            _e(r.customer_id or ""),
            _badge(r.status),
            f'<span class="{_e(r.status)}">{_e(r.reason_code)}</span>',
            _when(r.state_since),
            _e((r.message or "") + (f" (waits for {r.waits_for})" if r.waits_for else "")),
            str(r.attempts),
        )
        for r in rows
    ]
    head = ("document", "id", "customer", "state", "reason", "since", "message", "attempts")
    return "<h3>Documents failed, retrying or waiting</h3>" + _table(head, body)


def _summary(rows: Sequence[documents.Count]) -> str:
    body = [
        (_e(r.document_type), _badge(r.status), str(r.documents), _when(r.latest)) for r in rows
    ]
    return "<h3>Documents</h3>" + _table(("document", "status", "count", "latest"), body)


def _failures(rows: Sequence[documents.FailedDocument]) -> str:
    body = [
        (
            _e(r.document_type),
            _code(r.sequence_id),
            _e(r.customer_id or ""),
            f'<span class="failed">{_e(r.reason_code)}</span>',
            _e(r.message or ""),
            str(r.attempts),
            _when(r.last_attempt_at),
        )
        for r in rows
    ]
    head = ("document", "id", "customer", "reason", "message", "attempts", "last attempt")
    return "<h3>Failed documents</h3>" + _table(head, body)


def _attempts(rows: Sequence[documents.Attempt]) -> str:
    body = [
        (
            _when(r.at),
            _e(r.document_type),
            _code(r.sequence_id),
            _badge(r.outcome),
            _e(r.reason_code or ""),
            _e(r.message or ""),
            str(r.qbo_calls),
        )
        for r in rows
    ]
    head = ("at", "document", "id", "outcome", "reason", "message", "QBO calls")
    return "<h3>Recent sync attempts</h3>" + _table(head, body)


def _table(head: Iterable[str], rows: Sequence[Sequence[str]]) -> str:
    """`rows` hold HTML: every cell was escaped when it was made."""
    if not rows:
        return '<p class="muted">None.</p>'
    ths = "".join(f"<th>{_e(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>"


def _badge(word: str) -> str:
    return f'<span class="{_e(word)}">{_e(word)}</span>'


def _code(text: str) -> str:
    return f"<code>{_e(text)}</code>"


def _when(at: dt.datetime | None) -> str:
    return _e(f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC") if at is not None else "-"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
