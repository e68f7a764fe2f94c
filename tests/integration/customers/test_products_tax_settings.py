"""Items, tax codes and settings against the emulator (docs/qbo-mapping.md)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from schemas.models import Customer
from store import account_settings, links, mappings
from sync import customer_sync, documents, products, tax
from sync import settings as settings_service
from sync.errors import Conflict, CustomerNotLinked, Invalid, NotFound
from tests.integration.customers.support import ACCOUNT, World, store_customer

pytestmark = pytest.mark.integration


def _services_account(w: World) -> str:
    return next(a["id"] for a in products.income_accounts(w.client()) if a["name"] == "Services")


def test_income_accounts_are_listed(us: World) -> None:
    found = products.income_accounts(us.client())
    assert {(a["name"], a["type"]) for a in found} == {
        ("Sales of Product Income", "Income"),
        ("Services", "Income"),
    }


def test_map_creates_a_service_item_and_a_collision_offers_the_existing_one(us: World) -> None:
    income = _services_account(us)
    long_name = "Pro plan: " + "x" * 120
    row = products.map_product(us.db, us.client(), ACCOUNT, "prod_pro", long_name, income)
    item = us.raw.get("Item", row["qbo_item_id"])
    assert item["Type"] == "Service" and item["IncomeAccountRef"]["value"] == income
    assert item["Name"] == ("Pro plan - " + "x" * 120)[:100] and len(item["Name"]) == 100
    assert row["origin"] == "created" and row["item_name"] == item["Name"]
    with pytest.raises(Conflict) as taken:
        products.map_product(us.db, us.client(), ACCOUNT, "prod_pro2", long_name, income)
    assert taken.value.reason == "item_name_taken"
    assert taken.value.details["existing"]["id"] == item["Id"]
    linked = products.link_product(
        us.db, us.client(), ACCOUNT, "prod_pro2", taken.value.details["existing"]["id"]
    )
    assert linked["origin"] == "linked" and linked["qbo_item_id"] == item["Id"]
    assert [r["product_id"] for r in mappings.products(us.db, ACCOUNT)] == ["prod_pro", "prod_pro2"]


def test_map_refuses_a_non_income_account_and_unknown_items(us: World) -> None:
    bank = next(
        a
        for a in us.sandbox.objects(us.realm_id, "Account")["objects"]
        if a["AccountType"] == "Bank"
    )
    with pytest.raises(Invalid) as wrong:
        products.map_product(us.db, us.client(), ACCOUNT, "p", "Thing", bank["Id"])
    assert wrong.value.reason == "not_an_income_account"
    with pytest.raises(NotFound) as missing:
        products.link_product(us.db, us.client(), ACCOUNT, "p", "4242")
    assert missing.value.reason == "qbo_item_not_found"


def test_fallback_item_is_created_on_request_and_set(us: World) -> None:
    item = products.create_fallback_item(
        us.db, us.client(), ACCOUNT, "Sequence billing", _services_account(us)
    )
    assert account_settings.get(us.db, ACCOUNT).fallback_item_id == item["id"]
    assert us.raw.get("Item", item["id"])["Name"] == "Sequence billing"


def test_tax_codes_are_listed_and_mapping_checks_them(uk: World) -> None:
    codes = {c["id"]: c["name"] for c in tax.tax_codes(uk.client())}
    assert codes["3"] == "20.0% S" and codes["5"] == "20.0% RC"
    tax.map_tax_category(uk.db, uk.client(), ACCOUNT, "cat_std", "3")
    with pytest.raises(Invalid) as refused:
        tax.map_tax_category(uk.db, uk.client(), ACCOUNT, "cat_x", "99")
    assert refused.value.reason == "tax_code_not_found"
    assert "'99' is not an active tax code" in refused.value.message
    assert tax.tax_mappings(uk.db, ACCOUNT) == {"cat_std": "3"}
    tax.unmap_tax_category(uk.db, ACCOUNT, "cat_std")
    assert tax.tax_mappings(uk.db, ACCOUNT) == {}
    with pytest.raises(NotFound):
        tax.unmap_tax_category(uk.db, ACCOUNT, "cat_std")


def test_settings_are_validated_against_the_realm(uk: World) -> None:
    client = uk.client
    updated = settings_service.update_settings(
        uk.db,
        client,
        ACCOUNT,
        {
            "merchant_email": "billing@merchant.example",
            "txn_date_source": "accounting_date",
            "fallback_tax_code_id": "3",
            "exempt_tax_code_id": "2",
            "reverse_charge_tax_code_id": "5",
            "auto_create_customers": "yes",
            "fallback_item_id": "1",
        },
    )
    assert updated.as_dict() == {
        "account_id": ACCOUNT,
        "merchant_email": "billing@merchant.example",
        "txn_date_source": "accounting_date",
        "fallback_item_id": "1",
        "fallback_tax_code_id": "3",
        "exempt_tax_code_id": "2",
        "reverse_charge_tax_code_id": "5",
        "auto_create_customers": True,
    }
    for change, reason in [
        ({"exempt_tax_code_id": "77"}, "tax_code_not_found"),
        ({"fallback_item_id": "77"}, "qbo_item_not_found"),
        ({"txn_date_source": "today"}, "invalid_setting"),
        ({"merchant_email": "nope"}, "invalid_setting"),
        ({"auto_create_customers": "maybe"}, "invalid_setting"),
        ({"colour": "blue"}, "unknown_setting"),
    ]:
        with pytest.raises((Invalid, NotFound)) as refused:
            settings_service.update_settings(uk.db, client, ACCOUNT, change)
        assert refused.value.reason == reason, change
    assert settings_service.get_settings(uk.db, ACCOUNT) == updated  # nothing half-applied
    cleared = settings_service.update_settings(uk.db, client, ACCOUNT, {"fallback_item_id": ""})
    assert cleared.fallback_item_id is None


def test_ensure_customer_auto_creates_only_when_the_setting_is_on(multi: World) -> None:
    snapshot = store_customer(multi.db, "cus_auto", "Auto Créé SARL", country="FR")
    with pytest.raises(CustomerNotLinked) as off:
        customer_sync.ensure_customer(multi.db, multi.client(), ACCOUNT, snapshot, "EUR")
    assert off.value.reason == "customer_not_linked"
    settings_service.update_settings(
        multi.db, multi.client, ACCOUNT, {"auto_create_customers": True}
    )
    link = customer_sync.ensure_customer(multi.db, multi.client(), ACCOUNT, snapshot, "EUR")
    assert link.origin == "auto" and link.currency == "EUR"
    assert multi.raw.get("Customer", link.qbo_customer_id)["CurrencyRef"]["value"] == "EUR"
    again = customer_sync.ensure_customer(multi.db, multi.client(), ACCOUNT, snapshot, "EUR")
    assert again == link and len(multi.writes()) == 1
    clash = dict(snapshot, id="cus_clash")  # same name: QBO refuses, the document waits
    with pytest.raises(CustomerNotLinked) as dup:
        customer_sync.ensure_customer(multi.db, multi.client(), ACCOUNT, clash, "EUR")
    assert dup.value.details["cause"]["reason"] == "duplicate_name"
    assert links.get(multi.db, ACCOUNT, "cus_clash", realm_id=multi.realm_id) is None


def test_the_invoice_sync_hook_links_in_a_short_transaction_of_its_own(multi: World) -> None:
    """The document sync calls the hook with no transaction open: the link is committed at
    once (a later sync, or a concurrent one, finds it)."""
    settings_service.update_settings(
        multi.db, multi.client, ACCOUNT, {"auto_create_customers": True}
    )
    snapshot = store_customer(multi.db, "cus_doc", "Hooked GmbH", country="DE")
    hook = customer_sync.document_hook(multi.deps.pub)
    doc = SimpleNamespace(customer=Customer.model_validate(snapshot), currency="EUR")
    qbo_id, currency = hook(multi.db, multi.client(), ACCOUNT, doc)
    linked = links.get(multi.db, ACCOUNT, "cus_doc", realm_id=multi.realm_id)
    assert currency == "EUR" and linked is not None and linked.qbo_customer_id == qbo_id
    settings_service.update_settings(
        multi.db, multi.client, ACCOUNT, {"auto_create_customers": False}
    )
    other = SimpleNamespace(
        customer=Customer.model_validate(dict(snapshot, id="cus_doc2")), currency="EUR"
    )
    with pytest.raises(documents.CustomerNotLinked):
        hook(multi.db, multi.client(), ACCOUNT, other)
