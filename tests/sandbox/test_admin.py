"""Admin API effects that the other tests do not cover."""

from __future__ import annotations

import time

import requests

from sandbox.config import SandboxConfig
from sandbox.testing import running_sandbox
from tests.sandbox.support import sales_line


def test_patch_preferences_switches_auto_numbering(us):
    c = us.customer()
    assert "DocNumber" not in us.invoice(c["Id"])
    prefs = us.sb.set_preferences(us.realm_id, {"SalesFormsPrefs": {"CustomTxnNumbers": False}})
    assert prefs["SyncToken"] == "1" and prefs["SalesFormsPrefs"]["AllowDiscount"] is True
    assert us.invoice(c["Id"])["DocNumber"] == "1001"


def test_settings_toggle_doc_number_enforcement(us):
    c = us.customer()
    us.invoice(c["Id"], DocNumber="D-1")
    us.sb.admin("PATCH", f"/realms/{us.realm_id}/settings", {"enforce_unique_doc_number": False})
    assert us.invoice(c["Id"], DocNumber="D-1")["DocNumber"] == "D-1"


def test_objects_listing_includes_inactive_and_tombstones(us):
    c = us.customer()
    us.create("Customer", {"Id": c["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    listed = us.sb.objects(us.realm_id, "Customer")
    assert [o["Active"] for o in listed["objects"]] == [False]
    inv = us.invoice(us.customer("Other")["Id"], 1, "NON")
    us.post("invoice", {"Id": inv["Id"], "SyncToken": "0"}, operation="delete")
    assert us.sb.objects(us.realm_id, "Invoice")["deleted"][0]["status"] == "Deleted"


def test_default_latency_from_config():
    with running_sandbox(SandboxConfig(default_latency_ms=300)) as sb:
        realm = sb.create_realm("US")
        started = time.monotonic()
        resp = requests.get(
            f"{sb.api_url(realm)}/preferences",
            headers={"Authorization": f"Bearer {sb.access_token(realm)}"},
        )
        assert resp.status_code == 200 and time.monotonic() - started >= 0.3


def test_discount_line_and_not_applicable_tax(uk):
    c = uk.customer()
    discount = {
        "DetailType": "DiscountLineDetail",
        "Amount": 0,
        "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10},
    }
    inv = uk.create(
        "Invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "GlobalTaxCalculation": "NotApplicable",
            "Line": [sales_line(200, "3"), discount],
        },
    )
    assert inv["Line"][1]["Amount"] == 20.0
    assert inv["TxnTaxDetail"]["TotalTax"] == 0 and inv["TotalAmt"] == 180.0


def test_multicurrency_only_through_admin(uk):
    prefs = uk.ok(uk.get("preferences"), "Preferences")
    body = {
        "SyncToken": prefs["SyncToken"],
        "sparse": True,
        "CurrencyPrefs": {"MultiCurrencyEnabled": True},
    }
    assert uk.fault(uk.post("preferences", body))["code"] == "6000"
    assert (
        uk.fault(uk.post("customer", {"DisplayName": "Euro", "CurrencyRef": {"value": "EUR"}}))[
            "code"
        ]
        == "6000"
    )
    uk.sb.set_preferences(uk.realm_id, {"CurrencyPrefs": {"MultiCurrencyEnabled": True}})
    uk.sb.set_exchange_rate(uk.realm_id, "EUR", 0.85, "2000-01-01")
    euro = uk.customer("Euro", CurrencyRef={"value": "EUR"})
    assert euro["CurrencyRef"] == {"value": "EUR", "name": "Euro"}
