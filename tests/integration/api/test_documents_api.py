"""The document routes of the admin API and the status page, over real HTTP (uvicorn), with
documents synced through DocumentSync against the emulator, PostgreSQL and Kafka."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fastapi import FastAPI

from api.admin import AdminDeps
from publishing import KafkaPublisher
from qbo import errors as qbo_errors
from schemas.models import CreditNote, Invoice
from sequence_qbo import samples
from store.db import Database
from sync.deps import Deps as ServiceDeps
from sync.publish import Publishing
from tests.helpers import wait_until
from tests.integration.api.server import admin_app, serving
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world, one_line_invoice

pytestmark = pytest.mark.integration

TOKEN = "admin-secret-for-document-tests"
EVIL = samples.customer(
    "cus_evil",
    "<script>alert(1)</script> Ltd",
    "ap@evil.example",
    "2 High St",
    "York",
    "YO1 1AA",
    "GB",
    "TAXED",
)


class Api:
    def __init__(self, base: str, account: str, token: str | None = TOKEN) -> None:
        self.base, self.account, self.token = base, account, token

    def __call__(self, method: str, path: str, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = f"{self.base}/admin/v1/accounts/{self.account}{path}"
        return requests.request(method, url, params=params, headers=headers, timeout=60)

    def page(self, path: str = "/status") -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.get(f"{self.base}{path}", headers=headers, timeout=30)


def _invoice(iid: str, customer: dict[str, Any]) -> Invoice:
    return Invoice.model_validate(one_line_invoice(iid, customer, number=f"N-{iid}"))


def _app(world: World, sync: Any, token: str | None = TOKEN) -> FastAPI:
    settings = world.c.settings
    pub = Publishing.over(KafkaPublisher(settings.kafka_bootstrap), settings.topics, world.serde)
    services = ServiceDeps(world.db, world.factory, pub)
    factory = (lambda: sync) if sync is not None else None
    admin = AdminDeps(token, services, document_sync=factory)
    return admin_app(settings, admin)


@pytest.fixture
def world(db: Database, settings: Any, qbo_sandbox: Any, schema_registry_url: str) -> World:
    """inv_ok synced; inv_evil failed (its customer, named `<script>…`, is not linked)."""
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.link(UK_CUSTOMER)
    w.settings(fallback_item_id=w.item_id(), fallback_tax_code_id="3")
    sync = w.sync_service()
    now = dt.datetime.now(dt.UTC)
    assert sync.sync(w.c.account_id, _invoice("inv_ok", UK_CUSTOMER), now).outcome == "created"
    failed = sync.sync(w.c.account_id, _invoice("inv_evil", EVIL), now)
    assert failed.reason_code == "customer_not_linked", failed
    return w


@pytest.fixture
def api(world: World) -> Iterator[Api]:
    with serving(_app(world, world.sync_service())) as base:
        yield Api(base, world.c.account_id)


def _reason(resp: requests.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    return str(resp.json()["detail"]["reason"])


def test_status_lists_counts_failures_and_recent_attempts(api: Api) -> None:
    resp = api("GET", "/status", limit=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["account_id"] == api.account
    counts = {(r["document_type"], r["status"]): r["documents"] for r in body["summary"]}
    assert counts == {("invoice", "synced"): 1, ("invoice", "failed"): 1}
    [failed] = body["failed"]
    assert (failed["sequence_id"], failed["reason_code"], failed["attempts"]) == (
        "inv_evil",
        "customer_not_linked",
        1,
    )
    assert "<script>" in failed["message"] and failed["last_attempt_at"]
    outcomes = [(a["sequence_id"], a["outcome"]) for a in body["recent_attempts"]]
    assert outcomes == [("inv_evil", "failed"), ("inv_ok", "synced")]  # newest first
    assert len(api("GET", "/status", limit=1).json()["recent_attempts"]) == 1
    assert api("GET", "/status", limit=0).status_code == 422


def test_resync_after_fixing_the_cause_creates_the_invoice(api: Api, world: World) -> None:
    still = api("POST", "/documents/invoice/inv_evil/resync")
    assert still.status_code == 200, still.text
    assert (still.json()["outcome"], still.json()["reason_code"]) == (
        "failed",
        "customer_not_linked",
    )
    world.link(EVIL)
    fixed = api("POST", "/documents/invoice/inv_evil/resync").json()
    assert (fixed["outcome"], fixed["document_type"], fixed["sequence_id"]) == (
        "created",
        "invoice",
        "inv_evil",
    )
    assert fixed["qbo_id"] in {i["Id"] for i in world.qbo_invoices()}
    assert api("GET", "/status").json()["failed"] == []


def _job(api: Api, resp: requests.Response) -> dict[str, Any]:
    """A 202's job, followed until it ends."""
    assert resp.status_code == 202, resp.text
    url = f"{api.base}{resp.headers['Location']}"
    headers = {"Authorization": f"Bearer {api.token}"}

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = requests.get(url, headers=headers, timeout=30).json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_until(finished, timeout=60, message="the re-sync job to finish")
    assert job["status"] == "succeeded", job
    return job


def test_resync_failed_resyncs_every_failure_matching_the_filter(api: Api, world: World) -> None:
    none = _job(api, api("POST", "/resync-failed", reason_code="qbo_validation"))
    assert none["result"] == {"kind": "resync_failed", "outcomes": {}, "documents": []}
    world.link(EVIL)
    job = _job(api, api("POST", "/resync-failed"))
    [result] = job["result"]["documents"]
    assert (result["sequence_id"], result["outcome"]) == ("inv_evil", "created")
    assert (job["done"], job["total"], job["result"]["outcomes"]) == (1, 1, {"created": 1})
    assert _job(api, api("POST", "/resync-failed"))["result"]["documents"] == []


def test_unknown_documents_and_types(api: Api) -> None:
    missing = api("POST", "/documents/invoice/inv_nope/resync")
    assert _reason(missing, 404) == "document_not_found"
    assert "inv_nope" in missing.json()["detail"]["message"]
    assert _reason(api("POST", "/documents/credit_note/inv_ok/resync"), 404) == "document_not_found"
    assert api("POST", "/documents/customer/cus_uk/resync").status_code == 422


def _credit_note(nid: str, invoice_id: str) -> CreditNote:
    body = _invoice(nid, EVIL).model_dump(mode="json")
    del body["invoice_date"]
    return CreditNote.model_validate(
        {**body, "number": f"CN-{nid}", "invoice_id": invoice_id, "issue_date": "2026-11-05"}
    )


def test_a_credit_note_waiting_for_its_invoice_is_a_conflict(api: Api, world: World) -> None:
    now = dt.datetime.now(dt.UTC)
    result = world.sync_service().sync(api.account, _credit_note("cn_1", "inv_evil"), now)
    assert result.reason_code == "invoice_not_synced", result
    with world.db.transaction() as tx:  # the invoice's sync is in flight again
        tx.conn.execute(
            "update sync_ledger set status = 'pending', reason_code = null "
            "where sequence_id = 'inv_evil'"
        )
    waiting = api("POST", "/documents/credit_note/cn_1/resync")
    assert _reason(waiting, 409) == "waiting_for_invoice"
    assert "inv_evil" in waiting.json()["detail"]["message"]


class _DownSync:
    """A DocumentSync whose QBO is unreachable (the emulator's faults are session-wide)."""

    def resync(self, *_: Any) -> Any:
        raise qbo_errors.ServerError("QBO answered 503", status=503, retry_after=7.2)


def test_qbo_unavailable_is_503_with_retry_after(world: World) -> None:
    down: Any = _DownSync()
    with serving(_app(world, down)) as base:
        call = Api(base, world.c.account_id)
        one = call("POST", "/documents/invoice/inv_evil/resync")
        assert _reason(one, 503) == "qbo_unavailable" and one.headers["Retry-After"] == "8"
        [bulk] = _job(call, call("POST", "/resync-failed"))["result"]["documents"]
        assert (bulk["outcome"], bulk["reason_code"]) == ("failed", "qbo_unavailable")


def test_without_document_sync_resync_is_503(world: World) -> None:
    with serving(_app(world, None)) as base:
        call = Api(base, world.c.account_id)
        assert call("GET", "/status").status_code == 200
        assert _reason(call("POST", "/resync-failed"), 503) == "resync_unavailable"


def test_every_route_needs_the_token(api: Api, world: World) -> None:
    for token in (None, "wrong"):
        anon = Api(api.base, api.account, token)
        assert _reason(anon("GET", "/status"), 401) == "unauthorized"
        assert _reason(anon("POST", "/documents/invoice/inv_evil/resync"), 401) == "unauthorized"
        assert _reason(anon("POST", "/resync-failed"), 401) == "unauthorized"
        for path in ("/status", f"/status/{api.account}"):
            refused = anon.page(path)
            assert _reason(refused, 401) == "unauthorized"
            assert refused.headers["WWW-Authenticate"] == "Bearer"
    with serving(_app(world, None, token=None)) as base:
        assert _reason(Api(base, world.c.account_id).page(), 503) == "admin_api_disabled"


def test_status_page_without_admin_deps_is_503(world: World) -> None:
    with serving(admin_app(world.c.settings, None)) as base:
        assert _reason(Api(base, "x").page(), 503) == "admin_api_disabled"


def test_status_page_shows_failures_with_names_escaped(api: Api) -> None:
    for path in ("/status", f"/status/{api.account}"):
        page = api.page(path)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-store"
        text = page.text
        assert "customer_not_linked" in text and "inv_evil" in text and "inv_ok" in text
        assert "<script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Ltd" in text
    assert f'href="status/{api.account}"' in api.page().text


def test_openapi_lists_the_document_routes(api: Api) -> None:
    doc = requests.get(f"{api.base}/openapi.json", timeout=10).json()
    prefix = "/admin/v1/accounts/{account_id}"
    paths = doc["paths"]
    assert {"get"} <= set(paths[f"{prefix}/status"])
    assert {"post"} <= set(paths[f"{prefix}/documents/{{document_type}}/{{sequence_id}}/resync"])
    assert {"post"} <= set(paths[f"{prefix}/resync-failed"])
    assert "/status" in paths and "/status/{account_id}" in paths
    resync = paths[f"{prefix}/documents/{{document_type}}/{{sequence_id}}/resync"]["post"]
    kind = next(p for p in resync["parameters"] if p["name"] == "document_type")
    assert doc["components"]["schemas"][kind["schema"]["$ref"].rsplit("/", 1)[1]]["enum"] == [
        "invoice",
        "credit_note",
    ]
    assert resync["security"] == [{"HTTPBearer": []}]
