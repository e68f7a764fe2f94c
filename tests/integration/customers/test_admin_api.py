"""Every admin API route through real HTTP (uvicorn), against the emulator, PostgreSQL and
Kafka; errors are checked for their status and machine-readable reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry

from api.admin import AdminDeps
from api.app import Deps, create_app
from api.deliveries import MemoryDeliveryLog
from api.realms import from_mapping
from tests.helpers import wait_until
from tests.integration.api.server import serving
from tests.integration.customers.support import (
    ACCOUNT,
    World,
    qbo_customer,
    store_customer,
)
from tests.unit.api.fakes import ListPublisher

pytestmark = pytest.mark.integration

TOKEN = "admin-secret-for-tests"


class Api:
    def __init__(self, base: str, token: str | None = TOKEN) -> None:
        self.base, self.token = base, token

    def get(self, path: str) -> requests.Response:
        """A path from the server's root (job resources and downloads)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.get(f"{self.base}{path}", headers=headers, timeout=60)

    def __call__(
        self, method: str, path: str, body: Any = None, account: str = ACCOUNT
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.request(
            method,
            f"{self.base}/admin/v1/accounts/{account}{path}",
            json=body,
            headers=headers,
            timeout=60,
        )


def _app(w: World, tmp: Path, token: str | None) -> Any:
    admin = AdminDeps(token, w.deps, tmp)
    return create_app(
        Deps(
            w.settings,
            ListPublisher(),
            from_mapping({}),
            MemoryDeliveryLog(),
            registry=CollectorRegistry(),
            admin=admin,
        )
    )


@pytest.fixture
def api(uk: World, tmp_path: Path) -> Iterator[tuple[Api, World]]:
    with serving(_app(uk, tmp_path, TOKEN)) as base:
        yield Api(base), uk


def _reason(resp: requests.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    return str(resp.json()["detail"]["reason"])


def test_openapi_document_lists_every_route_with_bearer_auth(api: tuple[Api, World]) -> None:
    client, _ = api
    doc = requests.get(f"{client.base}/openapi.json", timeout=10).json()
    prefix = "/admin/v1/accounts/{account_id}"
    assert {p[len(prefix) :] for p in doc["paths"] if p.startswith(prefix)} == {
        "/customers",
        "/customers/{customer_id}/suggestions",
        "/customers/{customer_id}/link",
        "/customers/{customer_id}/create",
        "/customers/import",
        "/income-accounts",
        "/products",
        "/products/{product_id}/map",
        "/products/{product_id}/link",
        "/fallback-item",
        "/tax-codes",
        "/tax-mappings",
        "/tax-mappings/{tax_category_id}",
        "/settings",
        "/status",
        "/documents/{document_type}/{sequence_id}/resync",
        "/resync-failed",
        "/jobs",
        "/payments",
        "/payments/{invoice_id}",
    }
    assert {
        "/admin/v1/dlq",
        "/admin/v1/dlq/replay",
        "/admin/v1/replay",
        "/admin/v1/jobs/{job_id}",
        "/admin/v1/jobs/{job_id}/report.{fmt}",
    } <= set(doc["paths"])
    # Every admin JSON answer is described: no route returns an untyped object any more.
    for path, ops in doc["paths"].items():
        if not path.startswith("/admin/"):
            continue
        for method, op in ops.items():
            assert any(k.startswith("2") for k in op["responses"]), (method, path)
            ok = {k: v for k, v in op["responses"].items() if k.startswith("2") and k != "204"}
            for answer in ok.values():
                json_schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if json_schema is not None:
                    assert json_schema not in ({}, {"type": "object"}), (method, path)
                    assert "additionalProperties" not in json_schema or path.endswith(
                        "/tax-mappings"
                    ), (method, path)
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert requests.get(f"{client.base}/docs", timeout=10).status_code == 200


def test_requests_without_the_right_token_are_refused(
    api: tuple[Api, World], tmp_path: Path
) -> None:
    client, w = api
    assert _reason(Api(client.base, token=None)("GET", "/settings"), 401) == "unauthorized"
    assert _reason(Api(client.base, token="wrong")("GET", "/settings"), 401) == "unauthorized"
    with serving(_app(w, tmp_path, None)) as base:
        assert _reason(Api(base)("GET", "/settings"), 503) == "admin_api_disabled"


def test_customer_routes(api: tuple[Api, World]) -> None:
    call, w = api
    store_customer(w.db, "cus_a", "Alpha & Omega Ltd")
    store_customer(w.db, "cus_b", "Beta Ltd")
    created = call("POST", "/customers/cus_a/create", {})
    assert created.status_code == 200, created.text
    qbo_a = created.json()["link"]["qbo_customer_id"]
    assert created.json()["qbo_customer"]["name"] == "Alpha & Omega Ltd"
    existing = qbo_customer(w.raw, "Beta Ltd")
    dup = call("POST", "/customers/cus_b/create", {})
    assert _reason(dup, 409) == "duplicate_name"
    assert dup.json()["detail"]["details"]["existing"]["id"] == existing["Id"]
    hints = call("GET", "/customers/cus_b/suggestions").json()
    assert hints[0]["id"] == existing["Id"] and "display_name" in hints[0]["matched_on"]
    linked = call("POST", "/customers/cus_b/link", {"qbo_customer_id": existing["Id"]})
    assert linked.status_code == 200 and linked.json()["link"]["origin"] == "link"
    assert (
        _reason(call("POST", "/customers/cus_b/link", {"qbo_customer_id": "999"}), 404)
        == "qbo_customer_not_found"
    )
    assert call("POST", "/customers/cus_b/link", {}).status_code == 422  # body validation
    listed = {r["customer_id"]: r for r in call("GET", "/customers").json()}
    assert listed["cus_a"]["qbo_customer_id"] == qbo_a
    assert listed["cus_b"]["legal_name"] == "Beta Ltd"
    qbo_customer(
        w.raw,
        "Imported Ltd",
        PrimaryEmailAddr={"Address": "i@x.example"},
        BillAddr={"Line1": "1 St", "City": "Leeds", "PostalCode": "LS1", "Country": "GBR"},
    )
    accepted = call("POST", "/customers/import")
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["Location"] == f"/admin/v1/jobs/{accepted.json()['id']}"
    job = _finished(call, accepted.headers["Location"])
    assert job["status"] == "succeeded", job
    imported = job["result"]
    assert imported["kind"] == "customer_import"
    assert (imported["imported"], imported["skipped"], imported["normalised"]) == (1, 2, 1)
    assert job["done"] == job["total"] == 3
    downloads = {d["format"]: d["url"] for d in job["downloads"]}
    csv = call.get(downloads["csv"])
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "qbo_customer_id,display_name,field,problem,value"
    report = call.get(downloads["json"])
    assert report.json()["summary"]["imported"] == 1
    assert call.get(f"/admin/v1/jobs/{job['id']}/report.xml").status_code == 422
    assert _reason(call.get("/admin/v1/jobs/nope"), 404) == "job_not_found"
    listed = call("GET", "/jobs").json()
    assert [j["id"] for j in listed] == [job["id"]]


def _finished(call: Api, location: str) -> dict[str, Any]:
    """Follows a job until it ends (the import runs in the server, after the 202)."""
    return wait_until(
        lambda: (j := call.get(location).json())["status"] in ("succeeded", "failed") and j,
        timeout=60,
        message=f"job {location} to finish",
    )


def test_product_routes(api: tuple[Api, World]) -> None:
    call, _ = api
    accounts = call("GET", "/income-accounts").json()
    income = next(a["id"] for a in accounts if a["name"] == "Services")
    made = call("POST", "/products/prod_1/map", {"name": "Pro plan", "income_account_id": income})
    assert made.status_code == 200 and made.json()["origin"] == "created"
    clash = call("POST", "/products/prod_2/map", {"name": "Pro plan", "income_account_id": income})
    assert _reason(clash, 409) == "item_name_taken"
    item_id = clash.json()["detail"]["details"]["existing"]["id"]
    linked = call("POST", "/products/prod_2/link", {"item_id": item_id})
    assert linked.json()["qbo_item_id"] == item_id
    assert [r["product_id"] for r in call("GET", "/products").json()] == ["prod_1", "prod_2"]
    fallback = call("POST", "/fallback-item", {"income_account_id": income}).json()
    assert call("GET", "/settings").json()["fallback_item_id"] == fallback["id"]


def test_tax_and_settings_routes(api: tuple[Api, World]) -> None:
    call, _ = api
    codes = {c["id"] for c in call("GET", "/tax-codes").json()}
    assert {"1", "2", "3", "4", "5"} <= codes
    assert call("PUT", "/tax-mappings/cat_std", {"tax_code_id": "3"}).status_code == 200
    assert (
        _reason(call("PUT", "/tax-mappings/cat_x", {"tax_code_id": "42"}), 422)
        == "tax_code_not_found"
    )
    assert call("GET", "/tax-mappings").json() == {"cat_std": "3"}
    assert call("DELETE", "/tax-mappings/cat_std").status_code == 204
    assert _reason(call("DELETE", "/tax-mappings/cat_std"), 404) == "tax_mapping_not_found"
    assert call("GET", "/settings").json()["auto_create_customers"] is False
    patched = call(
        "PATCH", "/settings", {"reverse_charge_tax_code_id": "5", "auto_create_customers": True}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["reverse_charge_tax_code_id"] == "5"
    assert (
        _reason(call("PATCH", "/settings", {"exempt_tax_code_id": "42"}), 422)
        == "tax_code_not_found"
    )
    assert call("GET", "/settings").json()["auto_create_customers"] is True


def test_an_account_without_a_connection_is_told_so(api: tuple[Api, World]) -> None:
    call, _ = api
    assert _reason(call("GET", "/tax-codes", account="acct_unknown"), 409) == "not_connected"
