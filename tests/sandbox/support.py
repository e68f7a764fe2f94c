"""Helpers for driving the emulator over real HTTP in tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from sandbox.config import Quotas
from sandbox.testing import SandboxHandle
from tests.helpers import wait_until

# Generous quotas for the shared server; quota tests set their own per realm.
ROOMY = Quotas(per_minute=100_000, per_second=100_000, concurrent=100, batch_per_minute=1000)


class Qbo:
    """A thin QBO client over requests, for driving the emulator in tests."""

    def __init__(self, sb: SandboxHandle, realm_id: str) -> None:
        self.sb, self.realm_id = sb, realm_id
        self.url = sb.api_url(realm_id)
        self.http = requests.Session()
        self.http.headers.update(
            {"Authorization": "Bearer " + sb.access_token(realm_id), "Accept": "application/json"}
        )

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(
            f"{self.url}/{path}", params={"minorversion": 75, **params}, timeout=10
        )

    def post(self, path: str, body: Any, **params: Any) -> requests.Response:
        return self.http.post(
            f"{self.url}/{path}", json=body, params={"minorversion": 75, **params}, timeout=10
        )

    def ok(self, resp: requests.Response, name: str) -> dict[str, Any]:
        assert resp.status_code == 200, resp.text
        return resp.json()[name]

    def create(self, entity: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        return self.ok(self.post(entity.lower(), body, **params), entity)

    def read(self, entity: str, ident: str) -> dict[str, Any]:
        return self.ok(self.get(f"{entity.lower()}/{ident}"), entity)

    def query(self, text: str) -> dict[str, Any]:
        return self.ok(self.get("query", query=text), "QueryResponse")

    def fault(self, resp: requests.Response, status: int = 400) -> dict[str, Any]:
        assert resp.status_code == status, resp.text
        body = resp.json()
        assert set(body) == {"Fault", "time"}
        return body["Fault"]["Error"][0]

    # Builders -------------------------------------------------------------------------------
    def customer(self, name: str = "Acme Ltd", **extra: Any) -> dict[str, Any]:
        return self.create("Customer", {"DisplayName": name, **extra})

    def invoice(
        self, customer_id: str, amount: float = 100.0, code: str = "TAX", **extra: Any
    ) -> dict[str, Any]:
        return self.create(
            "Invoice",
            {"CustomerRef": {"value": customer_id}, "Line": [sales_line(amount, code)], **extra},
        )


def sales_line(
    amount: float, code: str, item: str = "1", qty: float = 1, price: float | None = None
) -> dict[str, Any]:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "Description": "Pro plan",
        "SalesItemLineDetail": {
            "ItemRef": {"value": item},
            "Qty": qty,
            "UnitPrice": amount if price is None else price,
            "TaxCodeRef": {"value": code},
        },
    }


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until `condition()` is truthy; fail after `timeout` seconds."""
    return wait_until(condition, timeout=timeout, interval=0.02)
