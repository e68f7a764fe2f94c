"""The operator console (docs/operating.md#the-operator-console): server-rendered pages over the
same services as the admin API and the CLI, for a person with a browser.

Sign in at `/console/login` with the admin token; the session cookie then stands for it
(`api.console.sessions`). Pages are GETs that change nothing; every change is a POST form with
the session's CSRF token, answered with a redirect to the page it came from (post/redirect/get)
and a message saying what happened.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api import documents, jobs
from api.admin import AdminDeps
from api.console import pages
from api.console.sessions import COOKIE, LIFETIME, LOGIN_COOKIE, Session, Sessions, set_cookie
from api.documents import Kind
from api.operations import OperationRefused
from qbo import errors as qbo_errors
from store import jobs as job_store
from sync import customers, products, tax
from sync.errors import ServiceError

__all__ = ["router"]

log = logging.getLogger(__name__)

MAX_FORM = 64 * 1024


class _SignIn(Exception):
    """No valid session: a page redirects to the sign-in form."""


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form body (first value of each field); bounded in size."""
    body = await request.body()
    if len(body) > MAX_FORM:
        raise HTTPException(413, "form too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


async def _form_lists(request: Request) -> dict[str, list[str]]:
    body = await request.body()
    if len(body) > MAX_FORM:
        raise HTTPException(413, "form too large")
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def router(deps: AdminDeps) -> APIRouter:
    r = APIRouter(prefix="/console", include_in_schema=False)
    sessions = Sessions()
    token = deps.token()

    def page_session(request: Request) -> Session:
        session = sessions.of(request)
        if session is None:
            raise _SignIn()
        return session

    def post_session(request: Request, form: dict[str, str] = Depends(_form)) -> Session:  # noqa: B008
        session = sessions.of(request)
        if session is None:
            raise HTTPException(403, "sign in first")
        if not session.csrf_ok(form.get("csrf")):
            raise HTTPException(403, "the form's CSRF token is missing or wrong")
        return session

    _sign_in_routes(r, sessions, token)
    view = pages.Pages(deps)
    _page_routes(r, view, page_session)
    _action_routes(r, deps, post_session, sessions.of)
    return r


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        body,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            # No script runs in these pages at all; frames of other sites cannot hold them.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def _back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _sign_in_routes(r: APIRouter, sessions: Sessions, token: str | None) -> None:
    @r.get("/login")
    def login_form(request: Request) -> Response:
        nonce = secrets.token_urlsafe(32)
        resp = _html(pages.login(nonce, error=None, disabled=token is None))
        set_cookie(request, resp, LOGIN_COOKIE, nonce, 600)
        return resp

    @r.post("/login")
    def login(request: Request, form: dict[str, str] = Depends(_form)) -> Response:  # noqa: B008
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        given_nonce = form.get("csrf", "")
        if not nonce or not hmac.compare_digest(nonce.encode(), given_nonce.encode()):
            raise HTTPException(403, "the form's CSRF token is missing or wrong")
        given = form.get("token", "")
        if token is None or not hmac.compare_digest(given.encode(), token.encode()):
            fresh = secrets.token_urlsafe(32)
            refused = _html(pages.login(fresh, error="That is not the admin token."), 401)
            set_cookie(request, refused, LOGIN_COOKIE, fresh, 600)
            return refused
        session = sessions.create()
        resp = _back("/console")
        set_cookie(request, resp, COOKIE, session.id, int(LIFETIME.total_seconds()))
        resp.delete_cookie(LOGIN_COOKIE, path="/console")
        return resp

    @r.post("/logout")
    def logout(request: Request, form: dict[str, str] = Depends(_form)) -> Response:  # noqa: B008
        session = sessions.of(request)
        if session is not None and session.csrf_ok(form.get("csrf")):
            sessions.end(session)
        resp = _back("/console/login")
        resp.delete_cookie(COOKIE, path="/console")
        return resp


def _page_routes(r: APIRouter, view: pages.Pages, auth: Callable[..., Session]) -> None:
    def render(request: Request, make: Callable[[Session], str]) -> Response:
        try:
            session = auth(request)
        except _SignIn:
            return _back("/console/login")
        return _html(make(session))

    @r.get("")
    def accounts(request: Request) -> Response:
        return render(request, view.accounts)

    @r.get("/accounts/{account_id}")
    def account(request: Request, account_id: str) -> Response:
        return render(request, lambda s: view.account(s, account_id))

    @r.get("/accounts/{account_id}/mappings")
    def mappings(request: Request, account_id: str) -> Response:
        return render(request, lambda s: view.mappings(s, account_id))

    @r.get("/accounts/{account_id}/customers/{customer_id}")
    def customer(request: Request, account_id: str, customer_id: str) -> Response:
        return render(request, lambda s: view.customer(s, account_id, customer_id))

    @r.get("/accounts/{account_id}/payments")
    def payments(request: Request, account_id: str) -> Response:
        return render(request, lambda s: view.payments(s, account_id))

    @r.get("/jobs/{job_id}")
    def job(request: Request, job_id: str) -> Response:
        return render(request, lambda s: view.job(s, job_id))

    @r.get("/dlq")
    def dlq(request: Request) -> Response:
        return render(request, view.dlq)


def _action_routes(
    r: APIRouter,
    deps: AdminDeps,
    auth: Callable[..., Session],
    sessions_of: Callable[[Request], Session | None],
) -> None:
    d = deps.services
    session_dep = Depends(auth)
    form_dep = Depends(_form)

    def attempt(session: Session, what: str, run: Callable[[], Any]) -> Any:
        """Runs a change; its refusal becomes the message the next page shows."""
        try:
            result = run()
        except ServiceError as exc:
            session.say("error", f"{what}: {exc.reason}: {exc}")
            return None
        except HTTPException as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"message": exc.detail}
            session.say("error", f"{what}: {detail.get('reason', '')} {detail.get('message', '')}")
            return None
        except (qbo_errors.Retryable, OperationRefused) as exc:
            session.say("error", f"{what}: {exc}")
            return None
        return result

    def account_page(account_id: str) -> str:
        return f"/console/accounts/{pages.u(account_id)}"

    @r.post("/accounts/{account_id}/products/{product_id}/map")
    def map_product(
        account_id: str,
        product_id: str,
        session: Session = session_dep,
        form: dict[str, str] = form_dep,
    ) -> Response:
        name, income = form.get("name", "").strip(), form.get("income_account_id", "")
        done = attempt(
            session,
            f"map product {product_id}",
            lambda: products.map_product(
                d.db, d.client(account_id), account_id, product_id, name, income
            ),
        )
        if done is not None:
            session.say("ok", f"Product {product_id} mapped to QBO item {done['qbo_item_id']}.")
        return _back(form.get("back") or account_page(account_id))

    @r.post("/accounts/{account_id}/connect")
    def connect(
        account_id: str, session: Session = session_dep, form: dict[str, str] = form_dep
    ) -> Response:
        begin = deps.begin_connect
        if begin is None:
            session.say("error", "Connecting QuickBooks is not configured on this server.")
            return _back("/console")
        try:
            url = begin(account_id)
        except qbo_errors.ConfigError as exc:
            session.say("error", f"connect {account_id}: {exc}")
            return _back("/console")
        return _back(url)  # Intuit's consent page; its callback brings the merchant back

    @r.post("/accounts/{account_id}/products/map")
    def map_new_product(
        account_id: str, session: Session = session_dep, form: dict[str, str] = form_dep
    ) -> Response:
        product_id = form.get("product_id", "").strip()
        return map_product(account_id, product_id, session, form)

    @r.post("/accounts/{account_id}/tax/map")
    def map_new_tax(
        account_id: str, session: Session = session_dep, form: dict[str, str] = form_dep
    ) -> Response:
        category = form.get("tax_category_id", "").strip()
        return map_tax(account_id, category, session, form)

    @r.get("/jobs/{job_id}/report.{fmt}")
    def report(request: Request, job_id: str, fmt: str) -> Response:
        if sessions_of(request) is None:
            return _back("/console/login")
        row = job_store.get(d.db, job_id)
        files = ((row or {}).get("result") or {}).get("files") or {}
        if fmt not in ("csv", "json") or fmt not in files:
            raise HTTPException(404, "no such report")
        media = "text/csv" if fmt == "csv" else "application/json"
        path = Path(files[fmt])
        return FileResponse(path, media_type=media, filename=path.name)

    @r.post("/accounts/{account_id}/products/{product_id}/link")
    def link_product(
        account_id: str,
        product_id: str,
        session: Session = session_dep,
        form: dict[str, str] = form_dep,
    ) -> Response:
        item_id = form.get("item_id", "").strip()
        done = attempt(
            session,
            f"link product {product_id}",
            lambda: products.link_product(
                d.db, d.client(account_id), account_id, product_id, item_id
            ),
        )
        if done is not None:
            session.say("ok", f"Product {product_id} mapped to QBO item {item_id}.")
        return _back(form.get("back") or account_page(account_id))

    @r.post("/accounts/{account_id}/tax/{tax_category_id}/map")
    def map_tax(
        account_id: str,
        tax_category_id: str,
        session: Session = session_dep,
        form: dict[str, str] = form_dep,
    ) -> Response:
        code = form.get("tax_code_id", "")
        done = attempt(
            session,
            f"map tax category {tax_category_id}",
            lambda: tax.map_tax_category(
                d.db, d.client(account_id), account_id, tax_category_id, code
            ),
        )
        if done is not None:
            session.say("ok", f"Tax category {tax_category_id} mapped to tax code {code}.")
        return _back(form.get("back") or account_page(account_id))

    @r.post("/accounts/{account_id}/customers/{customer_id}/link")
    def link_customer(
        account_id: str,
        customer_id: str,
        session: Session = session_dep,
        form: dict[str, str] = form_dep,
    ) -> Response:
        qbo_id = form.get("qbo_customer_id", "").strip()
        done = attempt(
            session,
            f"link customer {customer_id}",
            lambda: customers.link_customer(
                d.db, d.client(account_id), d.pub, account_id, customer_id, qbo_id
            ),
        )
        if done is not None:
            session.say(
                "ok",
                f"Customer {customer_id} linked to QBO customer {qbo_id}; "
                f"{len(done.resynced)} document(s) re-syncing.",
            )
        return _back(form.get("back") or account_page(account_id))

    @r.post("/accounts/{account_id}/customers/{customer_id}/create")
    def create_customer(
        account_id: str,
        customer_id: str,
        session: Session = session_dep,
        form: dict[str, str] = form_dep,
    ) -> Response:
        currency = form.get("currency") or None
        done = attempt(
            session,
            f"create customer {customer_id}",
            lambda: customers.create_customer(
                d.db, d.client(account_id), d.pub, account_id, customer_id, currency=currency
            ),
        )
        if done is not None:
            session.say(
                "ok",
                f"QBO customer {done.link.qbo_customer_id} created for {customer_id}; "
                f"{len(done.resynced)} document(s) re-syncing.",
            )
        return _back(form.get("back") or account_page(account_id))

    @r.post("/accounts/{account_id}/documents/{document_type}/{sequence_id}/resync")
    def resync(
        account_id: str,
        document_type: Kind,
        sequence_id: str,
        session: Session = session_dep,
        form: dict[str, str] = form_dep,
    ) -> Response:
        def run() -> documents.ResyncOut:
            service = documents.sync_factory(deps.document_sync)()
            return documents.resync_one(service, account_id, document_type, sequence_id)

        done = attempt(session, f"re-sync {document_type} {sequence_id}", run)
        if done is not None:
            text = f"{document_type} {sequence_id}: {done.outcome}"
            reason = f" ({done.reason_code}: {done.message})" if done.reason_code else ""
            session.say(
                "ok" if done.outcome not in ("failed", "retrying") else "error", text + reason
            )
        return _back(form.get("back") or account_page(account_id))

    @r.post("/accounts/{account_id}/resync-failed")
    def resync_failed(
        account_id: str, session: Session = session_dep, form: dict[str, str] = form_dep
    ) -> Response:
        job = attempt(
            session,
            "re-sync every failed document",
            lambda: jobs.submit_resync_failed(deps, account_id, None, 10_000),
        )
        if job is None:
            return _back(account_page(account_id))
        session.say("ok", "Re-syncing every failed document (a job).")
        return _back(f"/console/jobs/{pages.u(job.id)}")

    @r.post("/accounts/{account_id}/customers-import")
    def import_customers(
        account_id: str, session: Session = session_dep, form: dict[str, str] = form_dep
    ) -> Response:
        job = attempt(session, "import customers", lambda: jobs.submit_import(deps, account_id))
        if job is None:
            return _back(f"{account_page(account_id)}/mappings")
        session.say("ok", "Importing customers from QBO (a job).")
        return _back(f"/console/jobs/{pages.u(job.id)}")

    @r.post("/dlq/replay")
    async def dlq_replay(request: Request) -> Response:
        fields = await _form_lists(request)
        form = {k: v[0] for k, v in fields.items()}
        session = auth(request, form)
        chosen = fields.get("letter", [])
        if not chosen:
            session.say("error", "Select the dead letters to replay.")
            return _back("/console/dlq")
        ops = deps.operations
        if ops is None:
            session.say("error", "This server was started without Kafka operations.")
            return _back("/console/dlq")
        done = await run_in_threadpool(
            attempt, session, "replay", lambda: ops.reinject(chosen, dry_run=False)
        )
        if done is not None:
            missing = f"; not found: {', '.join(done.not_found)}" if done.not_found else ""
            session.say("ok", f"Re-injected {len(done.reinjected)} record(s){missing}.")
        return _back("/console/dlq")
