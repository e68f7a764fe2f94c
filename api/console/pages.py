"""The console's pages, rendered from the store and the services (no JavaScript). Every value is
escaped where it is put in the page (`api.console.html`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from api import payments as payment_routes
from api.admin import AdminDeps
from api.console.html import (
    Html,
    badge,
    button,
    e,
    form,
    hidden,
    layout,
    link,
    options,
    table,
    u,
    when,
)
from api.console.sessions import Session
from api.jobs import job_out
from api.status_page import DocumentState, read_states
from qbo import errors as qbo_errors
from store import console, links, mappings, reconcile
from store import jobs as job_store
from sync import products, tax
from sync.errors import ServiceError

__all__ = ["Pages", "login", "qbo_url", "u"]

log = logging.getLogger(__name__)

T = TypeVar("T")

STATES = ("synced", "failed", "retrying", "waiting", "pending", "voided")
RESYNCABLE = ("invoice", "credit_note")

_WEB_ENTITY = {"invoice": "invoice", "credit_note": "creditmemo", "customer": "customerdetail"}
_API_ENTITY = {"invoice": "Invoice", "credit_note": "CreditMemo", "customer": "Customer"}


def qbo_url(environment: str, base_url: str | None, realm_id: str, kind: str, qbo_id: str) -> str:
    """Where a person sees the QBO object: QuickBooks' own pages (production or sandbox company;
    the company signed in there must be `realm_id`), or the emulator's object list."""
    if environment == "emulator":
        base = (base_url or "").rstrip("/")
        return f"{base}/_sandbox/realms/{u(realm_id)}/objects/{_API_ENTITY.get(kind, kind)}"
    host = "app.qbo.intuit.com" if environment == "production" else "app.sandbox.qbo.intuit.com"
    param = "nameId" if kind == "customer" else "txnId"
    return f"https://{host}/app/{_WEB_ENTITY.get(kind, kind)}?{param}={u(qbo_id)}"


def login(csrf: str, *, error: str | None, disabled: bool = False) -> str:
    note = (
        '<p class="flash error">No admin token is configured: the console is closed.</p>'
        if disabled
        else ""
    )
    body = Html(
        note
        + (f'<p class="flash error">{e(error)}</p>' if error else "")
        + '<form method="post" action="/console/login" class="fix">'
        + hidden("csrf", csrf)
        + '<label>Admin token <input type="password" name="token" autocomplete="off" '
        "autofocus required></label>" + button("Sign in") + "</form>"
    )
    return layout("Sign in", body, csrf=None)


def _nav(account_id: str | None = None) -> list[tuple[str, str]]:
    nav = [("/console", "Accounts"), ("/console/dlq", "Dead letters")]
    if account_id:
        base = f"/console/accounts/{u(account_id)}"
        nav += [
            (base, f"Account {account_id}"),
            (f"{base}/mappings", "Mappings"),
            (f"{base}/payments", "Payments"),
        ]
    return nav


class Pages:
    def __init__(self, deps: AdminDeps) -> None:
        self.deps = deps
        self.db = deps.services.db

    def _page(self, s: Session, title: str, body: Html, account_id: str | None = None) -> str:
        return layout(title, body, csrf=s.csrf, flash=s.take_flash(), nav=_nav(account_id))

    def _qbo(self, what: str, run: Callable[[], T]) -> tuple[T | None, Html]:
        """A QBO read for a page; when it cannot be made, the page says why instead."""
        try:
            return run(), Html("")
        except ServiceError as exc:
            return None, Html(f'<p class="flash error">{e(what)}: {e(exc.reason)}: {e(exc)}</p>')
        except qbo_errors.QboError as exc:
            return None, Html(f'<p class="flash error">{e(what)}: {e(exc)}</p>')

    def _link(self, realm_id: str | None, kind: str, qbo_id: str | None) -> Html:
        if not realm_id or not qbo_id:
            return e(qbo_id or "")
        href = qbo_url(self.deps.qbo_environment, self.deps.qbo_base_url, realm_id, kind, qbo_id)
        return link(href, f"QBO {qbo_id}")

    # -- accounts ------------------------------------------------------------------------

    def accounts(self, s: Session) -> str:
        counts = console.state_counts(self.db)
        rows = []
        for a in console.accounts(self.db):
            acct = a["account_id"]
            base = f"/console/accounts/{u(acct)}"
            state = a["status"] or "not connected"
            n = counts.get(acct, {})
            rows.append(
                (
                    link(base, acct),
                    e(a["company_name"] or ""),
                    Html(f"<code>{e(a['realm_id'] or '')}</code>"),
                    badge(state)
                    + (Html(f"<br>{e(a['status_reason'])}") if a["status_reason"] else Html("")),
                    when(a["connected_at"]),
                    when(a["access_expires_at"]),
                    when(a["refresh_expires_at"]),
                    when(a["last_call_at"]),
                    Html(
                        " · ".join(
                            f'<span class="{e(k)}">{e(k)} {n[k]}</span>' for k in STATES if n.get(k)
                        )
                    ),
                    link(f"{base}/mappings", "mappings")
                    + Html(" ")
                    + link(f"{base}/payments", "payments")
                    + self._connect_button(s, acct, a["status"]),
                )
            )
        head = (
            "account",
            "company",
            "realm",
            "connection",
            "connected since",
            "access token expires",
            "refresh token expires",
            "last QBO call",
            "documents",
            "",
        )
        return self._page(s, "Accounts", table(head, rows, empty="No accounts yet."))

    def _connect_button(self, s: Session, account_id: str, status: str | None) -> Html:
        if self.deps.begin_connect is None:
            return Html("")
        word = "Connect to QuickBooks" if status in (None, "disconnected") else "Reconnect"
        return Html(" " + form(f"/console/accounts/{u(account_id)}/connect", s.csrf, button(word)))

    # -- one account ---------------------------------------------------------------------

    def account(self, s: Session, account_id: str) -> str:
        states = read_states(self.db, account_id, 500)
        fixes = _Fixes(self, s, account_id, states)
        base = f"/console/accounts/{u(account_id)}"
        rows = [
            (
                e(st.document_type),
                Html(f"<code>{e(st.sequence_id)}</code>"),
                e(st.customer_id or ""),
                badge(st.status),
                Html(f'<span class="{e(st.status)}">{e(st.reason_code)}</span>'),
                Html(
                    f'<div class="message">{e(st.message or "")}'
                    + (f" (waits for {e(st.waits_for)})" if st.waits_for else "")
                    + "</div>"
                ),
                when(st.state_since),
                e(st.attempts),
                fixes.fix(st),
                form(
                    f"{base}/documents/{u(st.document_type)}/{u(st.sequence_id)}/resync",
                    s.csrf,
                    button("Resync"),
                )
                if st.document_type in RESYNCABLE
                else Html(""),
            )
            for st in states
        ]
        head = (
            "document",
            "id",
            "customer",
            "state",
            "reason",
            "QBO's message",
            "since",
            "attempts",
            "fix",
            "",
        )
        failed = sum(1 for st in states if st.status == "failed")
        resync_all = (
            form(f"{base}/resync-failed", s.csrf, button(f"Resync all {failed} failed"))
            if failed
            else Html("")
        )
        synced = [
            (
                e(r["document_type"]),
                Html(f"<code>{e(r['sequence_id'])}</code>"),
                badge(r["status"]),
                self._link(r["realm_id"], r["document_type"], r["qbo_id"]),
                when(r["synced_at"]),
            )
            for r in console.recent_synced(self.db, account_id)
        ]
        body = Html(
            "<h2>Failed, retrying and waiting documents</h2>"
            + fixes.errors
            + resync_all
            + table(head, rows, empty="Nothing failed, retrying or waiting.")
            + "<h2>Recent syncs</h2>"
            + table(("document", "id", "state", "in QBO", "synced at"), synced)
            + "<h2>Jobs</h2>"
            + self._jobs(account_id)
        )
        return self._page(s, f"Account {account_id}", body, account_id)

    def _jobs(self, account_id: str | None) -> Html:
        rows = [
            (
                link(f"/console/jobs/{u(j['id'])}", j["kind"]),
                badge(j["status"]),
                e(f"{j['done']} / {j['total'] if j['total'] is not None else '?'}"),
                when(j["created_at"]),
                e(j["error"] or ""),
            )
            for j in job_store.list_jobs(self.db, account_id, 10)
        ]
        return table(("job", "status", "progress", "started", "error"), rows)

    # -- mappings ------------------------------------------------------------------------

    def mappings(self, s: Session, account_id: str) -> str:
        base = f"/console/accounts/{u(account_id)}"
        back = f"{base}/mappings"
        linked = [
            (
                link(f"{base}/customers/{u(r['customer_id'])}", r["customer_id"]),
                e(r["legal_name"] or ""),
                self._link(r["realm_id"], "customer", r["qbo_customer_id"]),
                e(r["origin"]),
            )
            for r in links.list_links(self.db, account_id)
        ]
        unlinked = [
            (
                link(f"{base}/customers/{u(r['customer_id'])}", r["customer_id"]),
                e(r["legal_name"] or ""),
                e(r["email"] or ""),
                link(f"{base}/customers/{u(r['customer_id'])}", "suggestions / link")
                + Html(" ")
                + form(
                    f"{base}/customers/{u(r['customer_id'])}/create",
                    s.csrf,
                    hidden("back", back) + button("Create in QBO"),
                ),
            )
            for r in console.unlinked_customers(self.db, account_id)
        ]
        accounts, err1 = self._qbo(
            "income accounts",
            lambda: products.income_accounts(self.deps.services.client(account_id)),
        )
        codes, err2 = self._qbo(
            "tax codes", lambda: tax.tax_codes(self.deps.services.client(account_id))
        )
        product_rows = [
            (
                e(r["product_id"]),
                e(r["item_name"]),
                self._link(r["realm_id"], "item", r["qbo_item_id"]),
                e(r["origin"]),
            )
            for r in mappings.products(self.db, account_id)
        ]
        new_product = _map_product_form(s, base, back, None, "", accounts)
        tax_rows = [
            (e(cat), e(code)) for cat, code in sorted(mappings.tax(self.db, account_id).items())
        ]
        body = Html(
            err1
            + err2
            + "<h2>Customers linked</h2>"
            + table(("customer", "legal name", "QBO customer", "origin"), linked)
            + "<h2>Customers not linked</h2>"
            + form(f"{base}/customers-import", s.csrf, button("Import customers from QBO"))
            + table(("customer", "legal name", "email", ""), unlinked)
            + "<h2>Products → QBO items</h2>"
            + table(("product", "item", "QBO item", "origin"), product_rows)
            + new_product
            + "<h2>Tax categories → QBO tax codes</h2>"
            + table(("tax category", "QBO tax code"), tax_rows)
            + _map_tax_form(s, base, back, None, codes)
        )
        return self._page(s, f"Mappings of {account_id}", body, account_id)

    def customer(self, s: Session, account_id: str, customer_id: str) -> str:
        base = f"/console/accounts/{u(account_id)}"
        back = f"{base}/customers/{u(customer_id)}"
        from sync import suggest

        found, err = self._qbo(
            "suggestions",
            lambda: suggest.suggest_customers(
                self.db, self.deps.services.client(account_id), account_id, customer_id
            ),
        )
        rows = [
            (
                e(c.qbo_customer.get("id")),
                e(c.qbo_customer.get("name")),
                e(c.qbo_customer.get("email") or ""),
                e(", ".join(c.matched_on)),
                e(c.linked_to or ""),
                form(
                    f"{back}/link",
                    s.csrf,
                    hidden("qbo_customer_id", str(c.qbo_customer.get("id")))
                    + hidden("back", back)
                    + button("Link"),
                ),
            )
            for c in found or ()
        ]
        manual = form(
            f"{back}/link",
            s.csrf,
            hidden("back", back)
            + Html('<label>QBO customer id <input name="qbo_customer_id" required></label>')
            + button("Link"),
            cls="fix",
        )
        create = form(f"{back}/create", s.csrf, hidden("back", back) + button("Create in QBO"))
        body = Html(
            err
            + "<h2>QBO customers that may be this one</h2>"
            + table(("QBO id", "name", "email", "matched on", "linked to", ""), rows)
            + "<h2>Or</h2>"
            + manual
            + create
        )
        return self._page(s, f"Customer {customer_id}", body, account_id)

    # -- payments, jobs, DLQ -------------------------------------------------------------

    def payments(self, s: Session, account_id: str) -> str:
        history = [
            (
                e(inv.invoice_id) + Html(f"<br>{e(inv.invoice_number or '')}"),
                self._link(inv.realm_id, "invoice", inv.qbo_invoice_id),
                e(v.version),
                badge(v.status.lower()),
                e(f"{v.amount_paid} paid, {v.balance} due {inv.currency}"),
                e(", ".join(f"{p.qbo_payment_id} ({p.amount})" for p in v.payments)),
                when(v.qbo_changed_at),
                e(v.announced_as or "")
                + Html("<br>")
                + (when(v.sent_at) if v.sent_at else e("queued" if v.announced_as else "")),
            )
            for inv in payment_routes.group(reconcile.payment_history(self.db, account_id))
            for v in inv.versions
        ]
        sent = [
            (
                e(r["invoice_id"]),
                self._link(r["realm_id"], "invoice", r["qbo_invoice_id"]),
                badge(r["status"]),
                e(f"{r['amount_paid']:f} / {r['total_amount']:f} {r['currency']}"),
                when(r["paid_at"]),
                badge(_invoice_paid(r))
                + (Html(f" {e(r['no_event_reason'])}") if r["no_event_reason"] else Html(""))
                + (Html(f"<br>{when(r['sent_at'])}") if r["sent_at"] else Html("")),
            )
            for r in reconcile.paid_list(self.db, account_id=account_id, limit=500)
        ]
        body = Html(
            "<h2>What QBO reported</h2>"
            + table(
                (
                    "invoice",
                    "in QBO",
                    "version",
                    "status",
                    "amounts",
                    "QBO payments",
                    "QBO changed at",
                    "announced",
                ),
                history,
                empty="No payment read back from QBO yet.",
            )
            + "<h2>invoice.paid events</h2>"
            + table(
                ("invoice", "in QBO", "status", "paid / total", "paid on", "invoice.paid"),
                sent,
                empty="No paid or partly paid invoice yet.",
            )
        )
        return self._page(s, f"Payments of {account_id}", body, account_id)

    def job(self, s: Session, job_id: str) -> str:
        row = job_store.get(self.db, job_id)
        if row is None:
            return self._page(s, "Job not found", Html(f"<p>No job {e(job_id)}.</p>"))
        j = job_out(row)
        downloads = Html(" ").join(
            link(f"/console/jobs/{u(j.id)}/report.{d.format}", f"report ({d.format.upper()})")
            for d in j.downloads
        )
        result = (
            Html(f"<pre>{e(j.result.model_dump_json(indent=2))}</pre>") if j.result else Html("")
        )
        facts = table(
            ("kind", "account", "status", "progress", "created", "finished", "error"),
            [
                (
                    e(j.kind),
                    e(j.account_id or ""),
                    badge(j.status),
                    e(f"{j.done} / {j.total if j.total is not None else '?'}"),
                    when(j.created_at),
                    when(j.finished_at),
                    e(j.error or ""),
                )
            ],
        )
        refresh = (
            Html('<p class="muted">Still running: reload the page to follow it.</p>')
            if j.status in ("queued", "running")
            else Html("")
        )
        body = Html(facts + refresh + Html(f"<p>{downloads}</p>") + result)
        return self._page(s, f"Job {j.kind}", body, j.account_id)

    def dlq(self, s: Session) -> str:
        ops = self.deps.operations
        if ops is None:
            body = Html(
                '<p class="flash error">This server was started without Kafka '
                "operations: no dead letters to show.</p>"
            )
            return self._page(s, "Dead letters", body)
        letters, err = self._kafka(ops.dead_letters)
        rows = [
            (
                Html(
                    f'<input type="checkbox" name="letter" value="{e(x.coordinates)}"'
                    f'{" disabled" if x.truncated else ""} aria-label="select {e(x.coordinates)}">'
                ),
                Html(f"<code>{e(x.coordinates)}</code>"),
                e(f"{x.source_topic}[{x.source_partition}]@{x.source_offset}"),
                e(x.key or ""),
                e(x.error_class or ""),
                Html(f'<div class="message">{e(x.reason or "")}</div>'),
                e(x.attempts or ""),
                e(x.first_failure or ""),
                e("truncated: not replayable" if x.truncated else ""),
            )
            for x in letters or ()
        ]
        head = (
            "",
            "DLQ",
            "source",
            "key",
            "error class",
            "reason",
            "attempts",
            "first failure",
            "",
        )
        body = Html(
            err
            + '<form method="post" action="/console/dlq/replay">'
            + hidden("csrf", s.csrf)
            + table(head, rows, empty="The dead-letter topic is empty.")
            + (button("Replay selected") if rows else Html(""))
            + "</form>"
        )
        return self._page(s, "Dead letters", body)

    def _kafka(self, run: Callable[[], Sequence[T]]) -> tuple[Sequence[T] | None, Html]:
        try:
            return run(), Html("")
        except (RuntimeError, TimeoutError) as exc:
            return None, Html(f'<p class="flash error">Kafka: {e(exc)}</p>')


class _Fixes:
    """The fix offered next to each failed document, by reason (docs/failures.md)."""

    def __init__(self, pages: Pages, s: Session, account_id: str, states: Iterable[DocumentState]):
        self.p, self.s, self.account_id = pages, s, account_id
        self.base = f"/console/accounts/{u(account_id)}"
        reasons = {st.reason_code for st in states}
        client = lambda: pages.deps.services.client(account_id)  # noqa: E731
        self.errors = Html("")
        self.accounts: list[dict[str, Any]] | None = None
        self.codes: list[dict[str, Any]] | None = None
        if "item_not_mapped" in reasons:
            self.accounts, err = pages._qbo(
                "income accounts", lambda: products.income_accounts(client())
            )
            self.errors = Html(self.errors + err)
        if "tax_code_missing" in reasons:
            self.codes, err = pages._qbo("tax codes", lambda: tax.tax_codes(client()))
            self.errors = Html(self.errors + err)
        self.mapped_products = {r["product_id"] for r in mappings.products(pages.db, account_id)}
        self.mapped_tax = set(mappings.tax(pages.db, account_id))

    def fix(self, st: DocumentState) -> Html:
        if st.reason_code == "customer_not_linked" and st.customer_id:
            page = f"{self.base}/customers/{u(st.customer_id)}"
            return Html(
                link(page, "Link the customer")
                + Html(" ")
                + form(
                    f"{page}/create",
                    self.s.csrf,
                    hidden("back", self.base) + button("Create it in QBO"),
                )
            )
        if st.reason_code == "item_not_mapped":
            return Html(
                "".join(
                    _map_product_form(self.s, self.base, self.base, pid, title, self.accounts)
                    for pid, title in self._products(st)
                )
                or link(f"{self.base}/mappings", "Map the product")
            )
        if st.reason_code == "tax_code_missing":
            return Html(
                "".join(
                    _map_tax_form(self.s, self.base, self.base, cat, self.codes)
                    for cat in self._categories(st)
                )
                or link(f"{self.base}/mappings", "Map the tax category")
            )
        if st.status == "failed":
            return Html('<span class="muted">fix what the message names, then resync</span>')
        return Html("")

    def _snapshot(self, st: DocumentState) -> dict[str, Any]:
        return (
            console.document_snapshot(self.p.db, self.account_id, st.document_type, st.sequence_id)
            or {}
        )

    def _products(self, st: DocumentState) -> list[tuple[str, str]]:
        """The document's products no item is mapped to, with a line title for the name."""
        found: dict[str, str] = {}
        for group in self._snapshot(st).get("line_item_groups") or ():
            for item in group.get("line_items") or ():
                pid = item.get("product_id")
                if pid and pid not in self.mapped_products:
                    found.setdefault(pid, item.get("title") or pid)
        return sorted(found.items())

    def _categories(self, st: DocumentState) -> list[str]:
        found: set[str] = set()
        for group in self._snapshot(st).get("line_item_groups") or ():
            for cat in [group.get("tax_category_id")] + [
                i.get("tax_category_id") for i in group.get("line_items") or ()
            ]:
                if cat and cat not in self.mapped_tax:
                    found.add(cat)
        return sorted(found)


def _invoice_paid(row: dict[str, Any]) -> str:
    """What became of invoice.paid: sent, queued in the outbox, or none (and why)."""
    if row["no_event_reason"]:
        return "none"
    if row["event_id"] is None:
        return "not due" if row["status"] == "partial" else "none"
    return "sent" if row["sent_at"] else "queued"


def _map_product_form(
    s: Session,
    base: str,
    back: str,
    product_id: str | None,
    name: str,
    accounts: list[dict[str, Any]] | None,
) -> Html:
    """Create a QBO Service item for the product (a new product: its id is typed in)."""
    choices = options(
        ((a["id"], f"{a['name']} ({a['type']})") for a in accounts or ()),
        selected=next((a["id"] for a in accounts or () if a["name"] == "Services"), None),
    )
    fields = Html(
        f' as item <input name="name" value="{e(name)}" required aria-label="item name">'
        f' income account <select name="income_account_id" required>{choices}</select>'
    )
    return _map_form(s, base, back, "products", "product_id", "Map product", product_id, fields)


def _map_tax_form(
    s: Session, base: str, back: str, category: str | None, codes: list[dict[str, Any]] | None
) -> Html:
    choices = options((c["id"], f"{c['name']} ({c['id']})") for c in codes or ())
    fields = Html(f' to <select name="tax_code_id" required>{choices}</select>')
    return _map_form(s, base, back, "tax", "tax_category_id", "Map tax category", category, fields)


def _map_form(
    s: Session,
    base: str,
    back: str,
    path: str,
    field: str,
    label: str,
    known: str | None,
    fields: Html,
) -> Html:
    """A form mapping one id: the id shown when the page knows it (posted to
    {base}/{path}/{id}/map), else typed into `field` (posted to {base}/{path}/map)."""
    placeholder = field.replace("_", " ")
    who = (
        Html(f"<strong>{e(known)}</strong>")
        if known
        else Html(f'<input name="{e(field)}" placeholder="{e(placeholder)}" required>')
    )
    action = f"{base}/{path}/{u(known)}/map" if known else f"{base}/{path}/map"
    return form(
        action,
        s.csrf,
        hidden("back", back) + Html(f"{e(label)} ") + who + fields + button(label),
        cls="fix",
    )
