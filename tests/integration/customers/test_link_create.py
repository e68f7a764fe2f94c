"""Linking, suggesting and creating QBO customers against the emulator
(docs/qbo-mapping.md#customers)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from qbo.query import Query
from store import ledger, links
from store.ledger import DocKey, DocumentType
from sync import customers, suggest
from sync.errors import Conflict, Invalid, NotFound
from tests.integration.customers.support import ACCOUNT, World, qbo_customer, store_customer
from tests.integration.harness import read_all

pytestmark = pytest.mark.integration


def _fail_invoice(w: World, invoice_id: str, customer_id: str) -> None:
    key = DocKey(ACCOUNT, DocumentType.INVOICE, invoice_id)
    with w.db.transaction() as tx:
        ledger.receive(
            tx,
            key,
            customer_id=customer_id,
            snapshot={"id": invoice_id},
            snapshot_hash=invoice_id,
            occurred_at=dt.datetime.now(dt.UTC),
        )
        ledger.mark_failed(tx, key, reason_code="customer_not_linked", message="not linked")


def test_link_stores_the_link_and_resyncs_waiting_documents(us: World) -> None:
    store_customer(us.db, "cus_1", "Acme Ltd")
    found = qbo_customer(us.raw, "Acme Limited")
    _fail_invoice(us, "inv_1", "cus_1")
    _fail_invoice(us, "inv_2", "cus_1")
    _fail_invoice(us, "inv_other", "cus_2")

    result = customers.link_customer(us.db, us.client(), us.deps.pub, ACCOUNT, "cus_1", found["Id"])

    assert result.link.qbo_customer_id == found["Id"]
    assert result.link.currency == "USD" and result.link.origin == "link"
    assert sorted(result.resynced) == ["inv_1", "inv_2"]
    stored = links.get(us.db, ACCOUNT, "cus_1", realm_id=us.realm_id)
    assert stored is not None and stored.realm_id == us.realm_id
    requests = read_all(us.settings.kafka_bootstrap, us.settings.topics.resync, expected=2)
    assert sorted(m.key() for m in requests) == [b"inv_1", b"inv_2"]
    decoded = [us.deps.pub.serde.decode("qbo.resync", m.value()) for m in requests]
    assert {(d["account_id"], d["document_type"], d["reason"]) for d in decoded} == {
        (ACCOUNT, "INVOICE", "customer_linked")
    }
    # Linking again is a no-op; linking elsewhere is a conflict with a reason.
    again = customers.link_customer(us.db, us.client(), us.deps.pub, ACCOUNT, "cus_1", found["Id"])
    assert again.resynced == [] and again.link == stored
    with pytest.raises(Conflict) as taken:
        customers.link_customer(us.db, us.client(), us.deps.pub, ACCOUNT, "cus_2", found["Id"])
    assert taken.value.reason == "qbo_customer_already_linked"


def test_link_refuses_unknown_and_wrong_currency_customers(multi: World) -> None:
    eur = next(c for c in multi.raw.query(Query("Customer")) if c["DisplayName"] == "EUR Customer")
    with pytest.raises(NotFound) as missing:
        customers.link_customer(multi.db, multi.client(), multi.deps.pub, ACCOUNT, "cus_1", "99999")
    assert missing.value.reason == "qbo_customer_not_found"
    with pytest.raises(Invalid) as wrong:
        customers.link_customer(
            multi.db,
            multi.client(),
            multi.deps.pub,
            ACCOUNT,
            "cus_1",
            eur["Id"],
            expected_currency="USD",
        )
    assert wrong.value.reason == "currency_mismatch"
    assert wrong.value.details == {"qbo_currency": "EUR", "expected_currency": "USD"}
    ok = customers.link_customer(
        multi.db,
        multi.client(),
        multi.deps.pub,
        ACCOUNT,
        "cus_1",
        eur["Id"],
        expected_currency="eur",
    )
    assert ok.link.currency == "EUR"


def test_create_in_a_multi_currency_realm_with_eur(multi: World) -> None:
    store_customer(multi.db, "cus_eu", "Société Générale Démo", country="FR")
    with pytest.raises(Invalid) as needed:
        customers.create_customer(multi.db, multi.client(), multi.deps.pub, ACCOUNT, "cus_eu")
    assert needed.value.reason == "currency_required"

    result = customers.create_customer(
        multi.db, multi.client(), multi.deps.pub, ACCOUNT, "cus_eu", currency="EUR"
    )

    made = multi.raw.get("Customer", result.link.qbo_customer_id)
    assert made["CurrencyRef"]["value"] == "EUR" and result.link.currency == "EUR"
    assert made["DisplayName"] == "Société Générale Démo"
    assert made["CompanyName"] == "Société Générale Démo"
    assert made["PrimaryEmailAddr"] == {"Address": "cus_eu@x.example"}
    assert made["BillAddr"].pop("Id").isdigit()  # QBO gives every address an Id
    assert made["BillAddr"] == {
        "Line1": "1 Main St",
        "City": "Leeds",
        "PostalCode": "LS1 1AA",
        "Country": "FR",
    }
    assert made["Taxable"] is True
    assert result.link.origin == "create" and result.link.synced_hash is not None
    with pytest.raises(Conflict) as twice:
        customers.create_customer(
            multi.db, multi.client(), multi.deps.pub, ACCOUNT, "cus_eu", currency="EUR"
        )
    assert twice.value.reason == "already_linked"


def test_create_in_a_single_currency_realm_refuses_a_foreign_currency(uk: World) -> None:
    store_customer(uk.db, "cus_x", "Exempt Ltd", tax_status="TAX_EXEMPT")
    with pytest.raises(Invalid) as refused:
        customers.create_customer(uk.db, uk.client(), uk.deps.pub, ACCOUNT, "cus_x", currency="EUR")
    assert refused.value.reason == "multicurrency_off"
    made = customers.create_customer(uk.db, uk.client(), uk.deps.pub, ACCOUNT, "cus_x")
    qbo = uk.raw.get("Customer", made.link.qbo_customer_id)
    assert qbo["Taxable"] is False and made.link.currency == "GBP"
    assert qbo["CurrencyRef"]["value"] == "GBP"  # none sent: QBO used the home currency


def test_duplicate_name_names_the_existing_customer_and_offers_linking(us: World) -> None:
    existing = qbo_customer(us.raw, "Acme Widgets Ltd", Active=False)
    store_customer(us.db, "cus_1", "acme widgets ltd")  # QBO compares names case-insensitively
    with pytest.raises(Conflict) as dup:
        customers.create_customer(us.db, us.client(), us.deps.pub, ACCOUNT, "cus_1")
    assert dup.value.reason == "duplicate_name"
    assert dup.value.details["existing"]["id"] == existing["Id"]
    assert dup.value.details["existing"]["entity"] == "Customer"
    assert dup.value.details["existing"]["active"] is False
    assert f"(id {existing['Id']}); link it instead" in dup.value.message
    assert links.get(us.db, ACCOUNT, "cus_1", realm_id=us.realm_id) is None


@pytest.mark.parametrize(
    "name, display",
    [
        ('O\'Brien & Sons "UK"', 'O\'Brien & Sons "UK"'),
        ("Müller GmbH: Zürich", "Müller GmbH - Zürich"),
        ("東京商事株式会社", "東京商事株式会社"),
        ("Ünïcödé — Ελληνικά & Кириллица", "Ünïcödé — Ελληνικά & Кириллица"),
        ("Back\\slash 100% Ltd", "Back\\slash 100% Ltd"),
    ],
)
def test_tricky_names_create_suggest_and_collide(us: World, name: str, display: str) -> None:
    store_customer(us.db, "cus_t", name)
    made = customers.create_customer(us.db, us.client(), us.deps.pub, ACCOUNT, "cus_t")
    assert us.raw.get("Customer", made.link.qbo_customer_id)["DisplayName"] == display
    assert made.qbo_customer["CompanyName"] == name
    found = suggest.suggest_customers(us.db, us.client(), ACCOUNT, "cus_t")
    assert found[0].qbo_customer["id"] == made.link.qbo_customer_id
    assert "display_name" in found[0].matched_on and found[0].linked_to == "cus_t"
    store_customer(us.db, "cus_t2", name)
    with pytest.raises(Conflict) as dup:
        customers.create_customer(us.db, us.client(), us.deps.pub, ACCOUNT, "cus_t2")
    assert dup.value.details["existing"]["id"] == made.link.qbo_customer_id


def test_suggest_ranks_exact_names_before_similar_ones(us: World) -> None:
    store_customer(us.db, "cus_s", "Globex Corporation", email="ap@globex.example")
    similar = qbo_customer(us.raw, "Globex Corporation (EMEA)")
    by_name = qbo_customer(us.raw, "Globex Corporation")
    qbo_customer(us.raw, "Initech")
    found = suggest.suggest_customers(us.db, us.client(), ACCOUNT, "cus_s")
    assert [c.qbo_customer["id"] for c in found] == [by_name["Id"], similar["Id"]]
    assert set(found[0].matched_on) == {"display_name", "name_prefix"}
    assert found[1].matched_on == ("name_prefix",)
    json.dumps([c.as_dict() for c in found])  # what the API returns is plain JSON


def test_suggest_ranks_email_matches_first(us: World) -> None:
    store_customer(us.db, "cus_s", "Globex Corporation", email="ap@globex.example")
    by_email = qbo_customer(
        us.raw, "GLX Holdings", PrimaryEmailAddr={"Address": "ap@globex.example"}
    )
    by_name = qbo_customer(us.raw, "Globex Corporation")
    found = suggest.suggest_customers(us.db, us.client(), ACCOUNT, "cus_s")
    assert [c.qbo_customer["id"] for c in found] == [by_email["Id"], by_name["Id"]]
    assert found[0].matched_on == ("email",)


def test_suggest_and_create_need_a_stored_snapshot(us: World) -> None:
    with pytest.raises(NotFound) as missing:
        suggest.suggest_customers(us.db, us.client(), ACCOUNT, "cus_nobody")
    assert missing.value.reason == "customer_not_found"
