"""One test per kind of document the sync must get right (US and UK tax, currencies, missing
mappings, sent invoices, credit notes before their invoice, voids, crashes mid-create, replays,
linking, auto-create), each end to end."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sequence_qbo import samples
from store.db import Database
from tests.integration.harness import running
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world

pytestmark = pytest.mark.integration

US_CUSTOMER = samples.customer(
    "cus_us", "Globex Corp", "ap@globex.example", "1 Elm St", "Springfield", "62701", "US", "TAXED"
)


@pytest.fixture
def new_world(db: Database, settings, qbo_sandbox, schema_registry_url):
    def make(profile: str = "UK", **options: Any) -> World:
        return make_world(db, settings, qbo_sandbox, schema_registry_url, profile, **options)

    return make


def _sales_lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    return [ln for ln in invoice["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]


def _one_line(
    iid: str,
    customer: dict[str, Any],
    *,
    currency: str = "GBP",
    number: str | None = None,
    product: str | None = None,
    category: str | None = None,
    tax: str = "0",
    status: str = "FINAL",
    title: str = "Pro plan",
) -> dict[str, Any]:
    line = samples.line(
        "l1", title, "2", "50.00", "100.00", product_id=product, tax_category_id=category
    )
    gross = str(Decimal("100.00") + Decimal(tax))
    return samples.invoice(
        iid,
        customer,
        [samples.group("g1", "", [line])],
        number=number,
        currency=currency,
        net="100.00",
        tax=tax,
        gross=gross,
        status=status,
    )


def _sync(world: World, *events: tuple[str, str, dict[str, Any]]) -> None:
    for event, key, body in events:
        world.produce(event, key, body)
    with running(world.runtime()):
        for event, key, body in events:
            doc = body.get("invoice") or body.get("credit_note")
            kind = "credit_note" if event == "credit_note.sent" else "invoice"
            world.synced(kind, doc["id"])


def test_us_company_taxed_and_exempt_customers(new_world) -> None:
    world = new_world("US")
    exempt = {**US_CUSTOMER, "id": "cus_ex", "legal_name": "Exempt Co", "tax_status": "TAX_EXEMPT"}
    world.link(US_CUSTOMER)
    world.link(exempt)
    world.settings(fallback_item_id=world.item_id())
    _sync(
        world,
        (
            "invoice.finalized",
            "i1",
            {"invoice": _one_line("i1", US_CUSTOMER, currency="USD", tax="8.00")},
        ),
        ("invoice.finalized", "i2", {"invoice": _one_line("i2", exempt, currency="USD")}),
    )
    by_note = {i["PrivateNote"]: i for i in world.qbo_invoices()}
    taxed, untaxed = by_note["sequence:invoice:i1"], by_note["sequence:invoice:i2"]
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in _sales_lines(taxed)] == [
        "TAX"
    ]
    assert taxed["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "2"  # the company default
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in _sales_lines(untaxed)] == [
        "NON"
    ]


@pytest.mark.parametrize(
    ("tax_status", "expected_code"), [("TAXED", "3"), ("TAX_EXEMPT", "2"), ("REVERSE_CHARGED", "5")]
)
def test_uk_vat_standard_exempt_and_reverse_charge(new_world, tax_status, expected_code) -> None:
    world = new_world("UK")
    customer = {**UK_CUSTOMER, "tax_status": tax_status}
    world.link(customer)
    world.settings(
        fallback_item_id=world.item_id(),
        fallback_tax_code_id="3",
        exempt_tax_code_id="2",
        reverse_charge_tax_code_id="5",
    )
    tax = "20.00" if tax_status == "TAXED" else "0"
    _sync(world, ("invoice.finalized", "v1", {"invoice": _one_line("v1", customer, tax=tax)}))
    [inv] = world.qbo_invoices()
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in _sales_lines(inv)] == [
        expected_code
    ]
    assert inv["GlobalTaxCalculation"] == "TaxExcluded"
    assert Decimal(str(inv["TotalAmt"])) == Decimal("100.00") + Decimal(tax)


def test_multicurrency_eur_customer_gets_qbo_rate_recorded(new_world) -> None:
    world = new_world("MULTI")
    eur = {
        **UK_CUSTOMER,
        "id": "cus_eur",
        "legal_name": "Euro GmbH",
        "tax_status": "REVERSE_CHARGED",
    }
    world.link(eur, currency="EUR")
    world.c.sandbox.set_exchange_rate(world.c.realm_id, "EUR", 0.85)
    world.settings(fallback_item_id=world.item_id(), reverse_charge_tax_code_id="5")
    _sync(world, ("invoice.finalized", "e1", {"invoice": _one_line("e1", eur, currency="EUR")}))
    row = world.row("invoice", "e1")
    assert row["status"] == "synced", row["message"]
    [inv] = world.qbo_invoices()
    assert inv["CurrencyRef"]["value"] == "EUR"
    assert Decimal(str(inv["ExchangeRate"])) == Decimal("0.85")
    assert row["exchange_rate"] == Decimal("0.85")


def test_currency_mismatch_fails_and_sends_nothing(new_world) -> None:
    world = new_world("MULTI")
    eur = {**UK_CUSTOMER, "id": "cus_eur", "legal_name": "Euro GmbH"}
    world.link(eur, currency="EUR")
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    writes = world.writes()
    _sync(world, ("invoice.finalized", "m1", {"invoice": _one_line("m1", eur, currency="USD")}))
    row = world.row("invoice", "m1")
    assert row["reason_code"] == "currency_mismatch"
    assert "USD" in row["message"] and "EUR" in row["message"]
    assert world.writes() == writes and world.qbo_invoices() == []


def test_unmapped_product_without_then_with_a_fallback(new_world) -> None:
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(fallback_tax_code_id="3")
    _sync(
        world,
        (
            "invoice.finalized",
            "u1",
            {"invoice": _one_line("u1", UK_CUSTOMER, product="prod_x", tax="20.00")},
        ),
    )
    row = world.row("invoice", "u1")
    assert row["reason_code"] == "item_not_mapped" and "prod_x" in row["message"]
    with world.db.transaction() as tx:
        tx.conn.execute(
            "update account_settings set fallback_item_id = %s where account_id = %s",
            (world.item_id(), world.c.account_id),
        )
    assert (
        world.sync_service().resync(world.c.account_id, world.doc_type("invoice"), "u1").outcome
        == "created"
    )
    [inv] = world.qbo_invoices()
    assert _sales_lines(inv)[0]["SalesItemLineDetail"]["ItemRef"]["value"] == world.item_id()


def test_a_sent_invoice_bills_the_merchant_email(new_world) -> None:
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(
        fallback_item_id=world.item_id(),
        fallback_tax_code_id="3",
        merchant_email="billing@merchant.example",
    )
    _sync(
        world,
        (
            "invoice.sent",
            "s1",
            {"invoice": _one_line("s1", UK_CUSTOMER, status="SENT", tax="20.00")},
        ),
    )
    [inv] = world.qbo_invoices()
    assert inv["BillEmail"]["Address"] == "billing@merchant.example"


def test_credit_note_before_its_invoice_waits_then_succeeds(new_world) -> None:
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    note = {
        **_one_line("cn1", UK_CUSTOMER, number="CN-1", tax="20.00"),
        "invoice_id": "i9",
        "invoice_number": "INV-9",
        "issue_date": samples.dt.date(2026, 11, 5),
    }
    del note["invoice_date"]
    world.produce("credit_note.sent", "cn1", {"credit_note": note})
    with running(world.runtime()):
        world.produce(
            "invoice.finalized",
            "i9",
            {"invoice": _one_line("i9", UK_CUSTOMER, number="INV-9", tax="20.00")},
        )
        assert world.synced("invoice", "i9")["status"] == "synced"
        # Stored `waiting` until the invoice synced, then woken through sequence-qbo.resync.
        row = world.settled("credit_note", "cn1", timeout=60)
    assert row["status"] == "synced", row["message"]
    [memo] = world.qbo("CreditMemo")
    assert memo["DocNumber"] == "CN-1" and memo["TxnDate"] == "2026-11-05"
    assert Decimal(str(memo["TotalAmt"])) == Decimal("120.00")


def test_void_voids_the_qbo_invoice(new_world) -> None:
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    invoice = _one_line("vd1", UK_CUSTOMER, number="VD-1", tax="20.00")
    _sync(world, ("invoice.finalized", "vd1", {"invoice": invoice}))
    world.produce("invoice.voided", "vd1", {"invoice": {**invoice, "status": "VOIDED"}})
    with running(world.runtime()):
        from tests.helpers import wait_until

        wait_until(lambda: world.row("invoice", "vd1")["status"] == "voided", message="voided")
    [inv] = world.qbo_invoices()
    assert Decimal(str(inv["TotalAmt"])) == 0 and inv["PrivateNote"] == "Voided"


def test_150_lines_with_unicode_titles(new_world) -> None:
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    lines = [
        samples.line(f"l{i}", f"Nutzung Größe {i} — 東京 ✓", "3", "1.10", "3.30")
        for i in range(150)
    ]
    invoice = samples.invoice(
        "big",
        UK_CUSTOMER,
        [samples.group("g", "Überblick", lines)],
        number="BIG-1",
        net="495.00",
        tax="99.00",
        gross="594.00",
    )
    _sync(world, ("invoice.finalized", "big", {"invoice": invoice}))
    assert world.row("invoice", "big")["status"] == "synced"
    [inv] = world.qbo_invoices()
    sales = _sales_lines(inv)
    assert len(sales) == 150
    assert sales[7]["Description"] == "Überblick: Nutzung Größe 7 — 東京 ✓"
    assert Decimal(str(inv["TotalAmt"])) == Decimal("594.00")  # 20% VAT computed by QBO


def test_a_22_character_number_fails_clearly(new_world) -> None:
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    number = "INV-2026-11-000000001" + "X"
    assert len(number) == 22
    _sync(
        world,
        (
            "invoice.finalized",
            "n1",
            {"invoice": _one_line("n1", UK_CUSTOMER, number=number, tax="20.00")},
        ),
    )
    row = world.row("invoice", "n1")
    assert row["reason_code"] == "doc_number_too_long"
    assert number in row["message"] and "21" in row["message"]
    assert world.qbo_invoices() == []


def test_committed_then_dropped_creates_no_duplicate(new_world) -> None:
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    world.c.sandbox.add_fault(
        kind="commit_drop", next=1, realm=world.c.realm_id, method="POST", entity="invoice"
    )
    _sync(
        world,
        (
            "invoice.finalized",
            "cd1",
            {"invoice": _one_line("cd1", UK_CUSTOMER, number="CD-1", tax="20.00")},
        ),
    )
    assert world.row("invoice", "cd1")["status"] == "synced"
    assert len(world.qbo_invoices()) == 1
    assert world.c.sandbox.stats()["faults_fired"].get("commit_drop") == 1


def test_a_create_whose_ledger_write_was_lost_is_adopted_not_duplicated(new_world) -> None:
    """QBO created the invoice, then the process died before the ledger commit: the create
    intent survives, so the next attempt looks QBO up and adopts the invoice."""
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    invoice = _one_line("lost1", UK_CUSTOMER, number="LOST-1", tax="20.00")
    _sync(world, ("invoice.finalized", "lost1", {"invoice": invoice}))
    [created] = world.qbo_invoices()
    with world.db.transaction() as tx:  # what a crash before the commit leaves behind
        tx.conn.execute("delete from sync_ledger where account_id = %s", (world.c.account_id,))
    with_memo = {**invoice, "memo": "changed after the crash"}
    _sync(world, ("invoice.finalized", "lost1", {"invoice": with_memo}))
    row = world.row("invoice", "lost1")
    assert row["status"] == "synced" and row["qbo_id"] == created["Id"]
    [adopted] = world.qbo_invoices()
    assert adopted["CustomerMemo"]["value"] == "changed after the crash"


def test_replaying_every_input_topic_from_the_beginning_writes_nothing(new_world) -> None:
    """customer.updated, invoice.finalized, invoice.sent, credit_note.sent and invoice.voided
    all synced once; a new consumer group replays them all: not one write reaches QBO."""
    world = new_world("UK")
    world.link(UK_CUSTOMER)
    world.settings(
        fallback_item_id=world.item_id(),
        fallback_tax_code_id="3",
        merchant_email="billing@merchant.example",
    )
    first = _one_line("rp1", UK_CUSTOMER, number="RP-1", tax="20.00")
    sent = {**_one_line("rp2", UK_CUSTOMER, number="RP-2", tax="20.00"), "status": "SENT"}
    note = {
        **_one_line("rpc", UK_CUSTOMER, number="RPC-1", tax="20.00"),
        "invoice_id": "rp1",
        "invoice_number": "RP-1",
        "issue_date": samples.dt.date(2026, 11, 6),
    }
    del note["invoice_date"]
    renamed = {**UK_CUSTOMER, "email": "new-ap@acme.example"}
    world.produce("customer.updated", UK_CUSTOMER["id"], {"customer": renamed})
    _sync(
        world,
        ("invoice.finalized", "rp1", {"invoice": first}),
        ("invoice.sent", "rp2", {"invoice": sent}),
        ("credit_note.sent", "rpc", {"credit_note": note}),
    )
    world.produce("invoice.voided", "rp2", {"invoice": {**sent, "status": "VOIDED"}})
    with running(world.runtime()):
        from tests.helpers import wait_until

        wait_until(lambda: world.row("invoice", "rp2")["status"] == "voided", message="voided")
    writes = world.writes()
    attempts = _attempt_count(world)
    with running(world.runtime(group="replay-all")):
        from tests.helpers import wait_until

        # rp1, rp2 (twice: finalized-as-sent and voided), rpc: four more skipped attempts
        wait_until(
            lambda: _attempt_count(world) >= attempts + 4,
            timeout=60,
            message="the replay to reach every document",
        )
    assert world.writes() == writes


def _attempt_count(world: World) -> int:
    with world.db.transaction() as tx:
        return int(
            tx.conn.execute(
                "select count(*) as n from sync_attempts where account_id = %s",
                (world.c.account_id,),
            ).fetchone()["n"]
        )


def test_linking_the_customer_resyncs_its_waiting_invoice_through_kafka(new_world) -> None:
    """customer_not_linked → the merchant links the customer → the re-sync request travels
    through `sequence-qbo.resync` to the running consumers → the invoice is created."""
    from qbo import customer as customer_builder
    from schemas.models import Customer
    from sync import customers as customer_service

    world = new_world("UK")
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    world.produce("customer.updated", UK_CUSTOMER["id"], {"customer": UK_CUSTOMER})
    invoice = _one_line("wait1", UK_CUSTOMER, number="W-1", tax="20.00")
    with running(world.runtime()):
        world.produce("invoice.finalized", "wait1", {"invoice": invoice})
        assert world.synced("invoice", "wait1")["reason_code"] == "customer_not_linked"
        existing = world.client.create(
            "Customer",
            customer_builder.build_customer(Customer.model_validate(UK_CUSTOMER)),
            request_id="link-test-customer",
        )
        pub = world.app.publishing
        result = customer_service.link_customer(
            world.db, world.client, pub, world.c.account_id, UK_CUSTOMER["id"], existing["Id"]
        )
        assert result.resynced == ["wait1"]
        from tests.helpers import wait_until

        row = wait_until(
            lambda: (r := world.row("invoice", "wait1"))["status"] == "synced" and r,
            message="the re-synced invoice",
        )
    [inv] = world.qbo_invoices()
    assert inv["Id"] == row["qbo_id"] and inv["CustomerRef"]["value"] == existing["Id"]


def test_auto_create_customers_creates_the_qbo_customer_on_first_invoice(new_world) -> None:
    world = new_world("UK")
    world.settings(
        fallback_item_id=world.item_id(), fallback_tax_code_id="3", auto_create_customers=True
    )
    world.produce("customer.updated", UK_CUSTOMER["id"], {"customer": UK_CUSTOMER})
    _sync(
        world,
        (
            "invoice.finalized",
            "auto1",
            {"invoice": _one_line("auto1", UK_CUSTOMER, number="A-1", tax="20.00")},
        ),
    )
    assert world.row("invoice", "auto1")["status"] == "synced"
    [customer] = world.qbo("Customer")
    assert customer["DisplayName"] == "Acme Widgets Ltd"
    [inv] = world.qbo_invoices()
    assert inv["CustomerRef"]["value"] == customer["Id"]
