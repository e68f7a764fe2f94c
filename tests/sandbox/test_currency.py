"""Multi-currency: GBP home, EUR/USD customers, exchange rates, currency rules."""

from __future__ import annotations

from tests.sandbox.support import sales_line


def eur_customer(multi):
    found = multi.query("select * from Customer where CurrencyRef = 'EUR'")["Customer"]
    return found[0]


def test_foreign_invoice_uses_realm_rate_for_home_total(multi):
    c = eur_customer(multi)
    inv = multi.create(
        "Invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [sales_line(100, "3")]}
    )
    assert inv["CurrencyRef"]["value"] == "EUR" and inv["ExchangeRate"] == 0.86
    assert inv["TotalAmt"] == 120.0 and inv["HomeTotalAmt"] == 103.2
    assert inv["HomeBalance"] == 103.2


def test_exchange_rate_can_be_set_and_sent(multi):
    multi.sb.set_exchange_rate(multi.realm_id, "EUR", 0.9, "2030-01-01")
    rate = multi.ok(
        multi.get("exchangerate", sourcecurrencycode="EUR", asofdate="2030-02-01"), "ExchangeRate"
    )
    assert rate == {**rate, "Rate": 0.9, "TargetCurrencyCode": "GBP", "AsOfDate": "2030-02-01"}
    older = multi.ok(
        multi.get("exchangerate", sourcecurrencycode="EUR", asofdate="2025-01-01"), "ExchangeRate"
    )
    assert older["Rate"] == 0.86
    c = eur_customer(multi)
    inv = multi.create(
        "Invoice",
        {"CustomerRef": {"value": c["Id"]}, "ExchangeRate": 0.8, "Line": [sales_line(10, "4")]},
    )
    assert inv["HomeTotalAmt"] == 8.0


def test_exchange_rate_post(multi):
    body = {
        "SourceCurrencyCode": "USD",
        "TargetCurrencyCode": "GBP",
        "Rate": 0.75,
        "AsOfDate": "2031-01-01",
    }
    assert multi.ok(multi.post("exchangerate", body), "ExchangeRate")["Rate"] == 0.75


def test_invoice_currency_must_match_customer(multi):
    c = eur_customer(multi)
    err = multi.fault(
        multi.post(
            "invoice",
            {
                "CustomerRef": {"value": c["Id"]},
                "CurrencyRef": {"value": "USD"},
                "Line": [sales_line(10, "3")],
            },
        )
    )
    assert err["code"] == "6000" and "same currency" in err["Detail"]


def test_customer_currency_fixed_once_it_has_transactions(multi):
    c = multi.customer("Movable", CurrencyRef={"value": "EUR"})
    moved = multi.create(
        "Customer",
        {"Id": c["Id"], "SyncToken": "0", "sparse": True, "CurrencyRef": {"value": "USD"}},
    )
    assert moved["CurrencyRef"]["value"] == "USD"
    multi.create("Invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [sales_line(1, "4")]})
    err = multi.fault(
        multi.post(
            "customer",
            {"Id": c["Id"], "SyncToken": "1", "sparse": True, "CurrencyRef": {"value": "EUR"}},
        )
    )
    assert err["code"] == "6000"


def test_foreign_currency_needs_multicurrency(us):
    assert (
        us.fault(us.post("customer", {"DisplayName": "Euro Co", "CurrencyRef": {"value": "EUR"}}))[
            "code"
        ]
        == "6000"
    )
    assert us.fault(us.get("exchangerate", sourcecurrencycode="EUR"))["code"] == "6000"


def test_multicurrency_preference(multi, us):
    prefs = multi.ok(multi.get("preferences"), "Preferences")["CurrencyPrefs"]
    assert prefs == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "GBP"}}
    assert (
        us.ok(us.get("preferences"), "Preferences")["CurrencyPrefs"]["MultiCurrencyEnabled"]
        is False
    )


def test_exchange_rate_query(multi):
    multi.sb.set_exchange_rate(multi.realm_id, "EUR", 0.91, "2032-01-01")
    block = multi.query("select * from ExchangeRate where AsOfDate = '2032-06-30'")
    assert {r["SourceCurrencyCode"]: r["Rate"] for r in block["ExchangeRate"]} == {
        "EUR": 0.91,
        "USD": 0.79,
    }
    only = multi.query("select * from ExchangeRate where SourceCurrencyCode = 'USD'")
    assert [r["SourceCurrencyCode"] for r in only["ExchangeRate"]] == ["USD"]
