"""Every operation, and every error class, over real HTTP against the emulator."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from qbo import errors, requestids
from qbo.client import QboClient
from qbo.query import Query
from qbo.tokens import StaticToken
from qbo.transport import Transport

from .conftest import QUICK, Connected
from .http_proxy import running_proxy

pytestmark = pytest.mark.integration

NASTY = 'O\'Brien & Sons "UK" \\ 100% ;--'


def rid(*parts: str) -> str:
    return requestids.make("test", *parts)


def customer(c: Connected, name: str) -> dict:
    return c.client.create("Customer", {"DisplayName": name}, request_id=rid(c.realm_id, name))


def test_create_get_update_and_query_with_quotes(us: Connected) -> None:
    made = customer(us, NASTY)
    assert us.client.get("Customer", made["Id"])["DisplayName"] == NASTY
    found = list(us.client.query(Query("Customer").where("DisplayName", "=", NASTY)))
    assert [c["Id"] for c in found] == [made["Id"]]
    assert us.client.count(Query("Customer").where("DisplayName", "=", NASTY)) == 1
    like = list(us.client.query(Query("Customer").where("DisplayName", "LIKE", "O'Brien%")))
    assert [c["Id"] for c in like] == [made["Id"]]
    updated = us.client.update(
        "Customer",
        made["Id"],
        made["SyncToken"],
        {"CompanyName": NASTY},
        request_id=rid("upd", made["Id"]),
    )
    assert updated["CompanyName"] == NASTY and updated["DisplayName"] == NASTY
    assert updated["SyncToken"] != made["SyncToken"]


def test_minorversion_and_requestid_are_on_the_wire(us: Connected, sb) -> None:
    # The URLs as sent, seen by a forward proxy between the client and the emulator.
    with running_proxy() as proxy:
        us.client.transport = Transport(proxies={"http": proxy.url})
        made = customer(us, "Versioned Ltd")
        us.client.get("Customer", made["Id"])
        us.client.transport.close()
    seen = [target for _, target, _ in proxy.seen.requests]
    assert all("minorversion=75" in url for url in seen) and len(seen) == 2
    assert "requestid=sq-" in seen[0] and "requestid" not in seen[1]
    creates = [r for r in sb.requests(realm=us.realm_id) if r["operation"] == "create"]
    assert creates and all(r["requestid"] for r in creates)


def test_money_round_trips_as_decimal(us: Connected) -> None:
    c = customer(us, "Decimal Ltd")
    inv = us.client.create(
        "Invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": Decimal("100.10"),
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": "1"},
                        "Qty": Decimal("1"),
                        "UnitPrice": Decimal("100.10"),
                        "TaxCodeRef": {"value": "NON"},
                    },
                }
            ],
        },
        request_id=rid("inv", c["Id"]),
    )
    assert isinstance(inv["TotalAmt"], Decimal) and inv["Line"][0]["Amount"] == Decimal("100.10")


def test_stale_sync_token_is_a_conflict_and_can_be_reapplied(us: Connected) -> None:
    c = customer(us, "Stale Ltd")
    us.client.update(
        "Customer", c["Id"], c["SyncToken"], {"CompanyName": "first"}, request_id=rid("s1", c["Id"])
    )
    with pytest.raises(errors.Conflict) as exc:
        us.client.update(
            "Customer",
            c["Id"],
            c["SyncToken"],
            {"CompanyName": "second"},
            request_id=rid("s2", c["Id"]),
        )
    assert exc.value.code == "5010" and exc.value.status == 400 and exc.value.intuit_tid
    done = us.client.update(
        "Customer",
        c["Id"],
        c["SyncToken"],
        {"CompanyName": "second"},
        request_id=rid("s3", c["Id"]),
        reapply_on_conflict=True,
    )
    assert done["CompanyName"] == "second"


def test_duplicate_name(us: Connected) -> None:
    customer(us, "Twice Ltd")
    with pytest.raises(errors.DuplicateName) as exc:
        us.client.create("Customer", {"DisplayName": "Twice Ltd"}, request_id=rid("dup2"))
    assert exc.value.code == "6240" and "6240" in str(exc.value)


def test_duplicate_doc_number(us: Connected) -> None:
    c = customer(us, "Docs Ltd")
    body = {
        "CustomerRef": {"value": c["Id"]},
        "DocNumber": "INV-77",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("5"),
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1"},
                    "Qty": 1,
                    "UnitPrice": Decimal("5"),
                    "TaxCodeRef": {"value": "NON"},
                },
            }
        ],
    }
    us.client.create("Invoice", body, request_id=rid("doc1"))
    with pytest.raises(errors.DuplicateDocNumber) as exc:
        us.client.create("Invoice", body, request_id=rid("doc2"))
    assert exc.value.code == "6140"


def test_not_found(us: Connected) -> None:
    with pytest.raises(errors.NotFound) as exc:
        us.client.get("Customer", "987654")
    assert exc.value.code == "610"


def test_validation_keeps_message_and_detail(us: Connected) -> None:
    with pytest.raises(errors.Validation) as exc:
        us.client.create("Customer", {"DisplayName": "x" * 600}, request_id=rid("long"))
    assert exc.value.message and exc.value.detail
    assert exc.value.detail in str(exc.value) and exc.value.status == 400


def test_bad_token_is_an_auth_error_without_the_token(us: Connected, sb) -> None:
    bogus = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2bogus0123456789abcdefghij"
    client = QboClient(
        us.realm_id,
        base_url=sb.base_url,
        transport=Transport(),
        tokens=StaticToken(bogus),
        policy=QUICK,
    )
    with pytest.raises(errors.AuthError) as exc:
        client.get("Customer", "1")
    assert exc.value.status == 401 and exc.value.code == "3200"
    assert bogus not in str(exc.value) and bogus[:12] not in str(exc.value)


def test_token_of_another_realm_is_forbidden(us: Connected, sb) -> None:
    other = sb.create_realm("US")
    client = QboClient(
        other,
        base_url=sb.base_url,
        transport=Transport(),
        tokens=StaticToken(us.access_token),
        policy=QUICK,
    )
    with pytest.raises(errors.AuthError) as exc:
        client.get("Customer", "1")
    assert exc.value.status == 403


def test_void_invoice_and_payment(us: Connected) -> None:
    c = customer(us, "Void Ltd")
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": Decimal("10"),
        "SalesItemLineDetail": {
            "ItemRef": {"value": "1"},
            "Qty": 1,
            "UnitPrice": Decimal("10"),
            "TaxCodeRef": {"value": "NON"},
        },
    }
    inv = us.client.create(
        "Invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [line]}, request_id=rid("vinv")
    )
    voided = us.client.void("Invoice", inv["Id"], inv["SyncToken"], request_id=rid("vv"))
    assert voided["Balance"] == 0
    pay = us.client.create(
        "Payment",
        {"CustomerRef": {"value": c["Id"]}, "TotalAmt": Decimal("3")},
        request_id=rid("vpay"),
    )
    us.client.void("Payment", pay["Id"], pay["SyncToken"], request_id=rid("vpv"))


def test_batch_mixes_results_and_errors(us: Connected) -> None:
    customer(us, "Batch Taken")
    items = [
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch New"}},
        {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Batch Taken"}},
        {"bId": "3", "Query": "select * from Customer where DisplayName = 'Batch New'"},
    ]
    out = us.client.batch(items, request_id=rid("batch1"))
    assert out["1"]["Customer"]["DisplayName"] == "Batch New"
    assert isinstance(out["2"], errors.DuplicateName)
    assert "QueryResponse" in out["3"]
    with pytest.raises(ValueError):
        us.client.batch([{"bId": str(i)} for i in range(31)], request_id=rid("big"))


def test_cdc(us: Connected) -> None:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    made = customer(us, "Changed Ltd")
    changed = us.client.cdc(["Customer", "Invoice"], since)
    assert made["Id"] in {c["Id"] for c in changed["Customer"]}
    assert changed["Invoice"] == [] or isinstance(changed["Invoice"], list)


def test_exchange_rate(sb, db, factory, fernet_key) -> None:
    from .conftest import connect_account

    multi = connect_account(sb, db, factory, fernet_key, "MULTI")
    sb.set_exchange_rate(multi.realm_id, "EUR", 1.0875, "2025-11-03")
    rate = multi.client.exchange_rate("EUR", dt.date(2025, 11, 3))
    assert rate["Rate"] == Decimal("1.0875") and rate["SourceCurrencyCode"] == "EUR"


def test_preferences_and_company_info_are_cached(us: Connected, sb) -> None:
    prefs = us.client.preferences()
    assert "CurrencyPrefs" in prefs
    assert us.client.preferences() == prefs
    info = us.client.company_info()
    assert info["CompanyName"] and us.client.company_info() == info
    reads = [
        r for r in sb.requests(realm=us.realm_id) if r["entity"] in ("Preferences", "CompanyInfo")
    ]
    assert len(reads) == 2  # one each: the second calls came from the cache


def test_send_invoice(us: Connected) -> None:
    c = customer(us, "Mail Ltd")
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": Decimal("10"),
        "SalesItemLineDetail": {
            "ItemRef": {"value": "1"},
            "Qty": 1,
            "UnitPrice": Decimal("10"),
            "TaxCodeRef": {"value": "NON"},
        },
    }
    inv = us.client.create(
        "Invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [line]}, request_id=rid("mail")
    )
    sent = us.client.send_invoice(inv["Id"], to="ap@example.com", request_id=rid("mail-send"))
    assert sent["EmailStatus"] == "EmailSent" and sent["BillEmail"]["Address"] == "ap@example.com"
