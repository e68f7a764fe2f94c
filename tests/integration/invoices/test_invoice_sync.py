"""Invoices → QBO end to end: the basic path, failures as states, replays."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from sequence_qbo import samples
from store.db import Database
from tests.helpers import wait_until
from tests.integration.harness import read_all, running
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world

pytestmark = pytest.mark.integration


@pytest.fixture
def world(db: Database, settings, qbo_sandbox, schema_registry_url) -> World:
    return make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")


def _uk_invoice(iid: str = "inv_1", number: str | None = "INV-1001") -> dict[str, Any]:
    lines = [
        samples.line(
            "l1",
            "Pro plan",
            "1",
            "100.00",
            "100.00",
            product_id="prod_pro",
            tax_rate="0.2",
            tax_amount="20.00",
        ),
        samples.line(
            "l2", "API calls", "1234.5678", "0.0015", "1.85", tax_rate="0.2", tax_amount="0.37"
        ),
    ]
    return samples.invoice(
        iid,
        UK_CUSTOMER,
        [samples.group("g1", "November", lines, "std")],
        number=number,
        net="101.85",
        tax="20.37",
        gross="122.22",
    )


def test_a_uk_invoice_lands_in_qbo_exactly_as_mapped(world: World) -> None:
    qbo_customer = world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id())
    with world.db.transaction() as tx:
        tx.conn.execute(
            "insert into tax_mappings values (%s, 'std', %s, '3')",
            (world.c.account_id, world.c.realm_id),
        )
    world.produce("invoice.finalized", "inv_1", {"invoice": _uk_invoice()})
    with running(world.runtime()):
        row = wait_until(
            lambda: (r := world.row("invoice", "inv_1")) and r["status"] != "pending" and r,
            message="invoice synced",
        )
    assert row["status"] == "synced", row["message"]
    [inv] = world.qbo_invoices()
    assert inv["Id"] == row["qbo_id"]
    assert inv["DocNumber"] == "INV-1001"
    assert inv["CustomerRef"]["value"] == qbo_customer
    assert inv["PrivateNote"] == "sequence:invoice:inv_1"
    assert inv["BillEmail"]["Address"] == "ap@acme.example"
    sales = [ln for ln in inv["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    assert sales[0]["Description"] == "November: Pro plan"
    assert {
        ln["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        for ln in inv["Line"]
        if ln.get("DetailType") == "SalesItemLineDetail"
    } == {"3"}
    assert Decimal(str(inv["TotalAmt"])) == Decimal("122.22")
    statuses = read_all(world.c.settings.kafka_bootstrap, world.c.settings.topics.sync_status, 1)
    status = world.serde.decode("qbo.sync_status", statuses[0].value())
    assert (status["status"], status["document_id"], status["qbo_id"]) == (
        "SYNCED",
        "inv_1",
        row["qbo_id"],
    )


def test_an_unlinked_customer_fails_clearly_and_sends_nothing(world: World) -> None:
    world.produce("invoice.finalized", "inv_2", {"invoice": _uk_invoice("inv_2")})
    with running(world.runtime()):
        row = wait_until(
            lambda: (r := world.row("invoice", "inv_2")) and r["status"] == "failed" and r,
            message="invoice failed",
        )
    assert row["reason_code"] == "customer_not_linked"
    assert "cus_uk" in row["message"] and "Acme Widgets Ltd" in row["message"]
    assert world.qbo_invoices() == []
    status = world.serde.decode(
        "qbo.sync_status",
        read_all(world.c.settings.kafka_bootstrap, world.c.settings.topics.sync_status, 1)[
            0
        ].value(),
    )
    assert (status["status"], status["reason_code"]) == ("FAILED", "customer_not_linked")


def test_replaying_the_topic_writes_nothing_to_qbo(world: World) -> None:
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    for i in range(5):
        world.produce(
            "invoice.finalized", f"inv_r{i}", {"invoice": _uk_invoice(f"inv_r{i}", f"R-{i}")}
        )
    with running(world.runtime()):
        wait_until(
            lambda: all(
                (r := world.row("invoice", f"inv_r{i}")) and r["status"] == "synced"
                for i in range(5)
            ),
            message="5 synced",
        )
    writes = world.writes()
    with running(world.runtime(group=f"replay-{uuid.uuid4().hex}")):
        wait_until(lambda: _attempts(world.db, world.c.account_id) >= 10, message="replayed")
    assert world.writes() == writes
    assert len(world.qbo_invoices()) == 5


def _attempts(db: Database, account_id: str) -> int:
    with db.transaction() as tx:
        row = tx.conn.execute(
            "select count(*) as n from sync_attempts where account_id = %s", (account_id,)
        ).fetchone()
    return int(row["n"])
