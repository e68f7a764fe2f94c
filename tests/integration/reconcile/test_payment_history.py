"""The payment history per invoice: `sequence-qbo paid list` and the admin API's read-only
`/payments` routes, over a real history (a part, the rest, the second Payment deleted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from api.admin import AdminDeps
from api.app import Deps, create_app
from api.deliveries import MemoryDeliveryLog
from api.realms import from_mapping
from consumers import outbox
from publishing import KafkaPublisher
from sequence_qbo import cli
from sync.deps import Deps as ServiceDeps
from sync.publish import Publishing
from tests.helpers import wait_until
from tests.integration.api.server import serving
from tests.integration.harness import running
from tests.integration.reconcile.world import Reconciling, looping
from tests.unit.api.fakes import ListPublisher

pytestmark = pytest.mark.integration

TOKEN = "admin-secret-for-payment-tests"


@pytest.fixture
def history(world: Reconciling) -> dict[str, str]:
    """inv_h: 22.22 paid, then 100.00, then that second Payment deleted; every version sent."""
    qbo_id = world.invoice("inv_h", number="H-1")
    runtime = world.runtime()
    with running(runtime), looping(world.relay()):
        first = world.pay(qbo_id, "22.22", on="2026-11-10")
        world.notify("Payment", first)
        world.states(1)
        second = world.pay(qbo_id, "100.00", on="2026-11-18")
        world.notify("Payment", second)
        world.states(2)
        world.delete_payment(second)
        world.notify("Payment", second, "Delete")
        world.states(3)
        wait_until(world.all_sent, message="every version published")
    return {"qbo_id": qbo_id, "first": first, "second": second}


def test_paid_list_shows_each_invoices_history(
    world: Reconciling, history: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv(
        "SEQUENCE_QBO_DATABASE_URL", world.c.settings.database_url.get_secret_value()
    )
    monkeypatch.setenv("COLUMNS", "400")
    assert cli.main(["paid", "list", "--account", world.c.account_id]) == 0
    out = capsys.readouterr().out
    assert "inv_h" in out and "partial" in out
    assert "v1 PARTIALLY_PAID 22.22 → v2 PAID 122.22 → v3 PARTIALLY_PAID 22.22" in out
    assert cli.main(["paid", "list", "--account", world.c.account_id, "--invoice", "inv_h"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "invoice.payment_status_changed, sent" in line]
    assert len(lines) == 3
    assert "PAID" in lines[1] and "122.22" in lines[1] and "0.00" in lines[1]
    assert f"{history['second']} (2026-11-18: 100.00)" in lines[1]
    assert cli.main(["paid", "list", "--invoice", "inv_h"]) != 0  # needs --account


class Api:
    def __init__(self, base: str, account: str) -> None:
        self.base, self.account = base, account

    def get(self, path: str, token: str | None = TOKEN) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"{self.base}/admin/v1/accounts/{self.account}{path}"
        return requests.get(url, headers=headers, timeout=30)


@pytest.fixture
def api(world: Reconciling) -> Iterator[Api]:
    settings = world.c.settings
    pub = Publishing.over(KafkaPublisher(settings.kafka_bootstrap), settings.topics, world.serde)
    admin = AdminDeps(TOKEN, ServiceDeps(world.db, world.factory, pub))
    app = create_app(
        Deps(settings, ListPublisher(), from_mapping({}), MemoryDeliveryLog(), admin=admin)
    )
    with serving(app) as base:
        yield Api(base, world.c.account_id)


def test_the_admin_api_shows_each_invoices_versions(
    api: Api, world: Reconciling, history: dict[str, str]
) -> None:
    resp = api.get("/payments")
    assert resp.status_code == 200, resp.text
    [invoice] = resp.json()
    assert (invoice["invoice_id"], invoice["invoice_number"], invoice["qbo_invoice_id"]) == (
        "inv_h",
        "H-1",
        history["qbo_id"],
    )
    versions = invoice["versions"]
    assert [(v["version"], v["status"], v["amount_paid"], v["balance"]) for v in versions] == [
        (1, "PARTIALLY_PAID", "22.22", "100.00"),
        (2, "PAID", "122.22", "0.00"),
        (3, "PARTIALLY_PAID", "22.22", "100.00"),
    ]
    assert versions[1]["payments"] == [
        {"qbo_payment_id": history["first"], "txn_date": "2026-11-10", "amount": "22.22"},
        {"qbo_payment_id": history["second"], "txn_date": "2026-11-18", "amount": "100.00"},
    ]
    assert all(v["sent_at"] and v["announced_as"] == "payment_status_changed" for v in versions)
    assert versions[0]["event_id"] == str(
        outbox.payment_state_event_id(world.c.realm_id, history["qbo_id"], 1)
    )
    assert api.get("/payments/inv_h").json() == resp.json()


def test_the_payment_routes_refuse_unknown_invoices_and_missing_tokens(
    api: Api, history: dict[str, str]
) -> None:
    missing = api.get("/payments/inv_nope")
    assert missing.status_code == 404
    assert missing.json()["detail"]["reason"] == "no_payment_history"
    assert api.get("/payments", token=None).status_code == 401
    assert api.get("/payments", token="wrong").status_code == 401
    other = Api(api.base, "acct_other")
    assert other.get("/payments").json() == []  # another account's invoices are not shown
