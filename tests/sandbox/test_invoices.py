"""Invoice and CreditMemo: totals, US sales tax, UK VAT, rounding, DocNumber, void, send."""

from __future__ import annotations

from tests.sandbox.support import sales_line


def test_us_tax_per_rate_group_rounded_half_up(us):
    c = us.customer()
    inv = us.create(
        "Invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "3"}},
            "Line": [sales_line(10.10, "TAX") for _ in range(3)] + [sales_line(50, "NON")],
        },
    )
    detail = inv["TxnTaxDetail"]
    # 7.25% of the 30.30 taxable: 2.19675 -> 2.20. Per line it would be 3 x 0.73 = 2.19.
    assert [t["Amount"] for t in detail["TaxLine"]] == [2.2]
    assert detail["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == 30.3
    assert detail["TotalTax"] == 2.2
    assert inv["TotalAmt"] == 82.5 and inv["Balance"] == 82.5
    assert inv["Line"][-1] == {
        "Amount": 80.3,
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }


def test_us_default_tax_code_has_two_rates(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "TAX")
    # No TxnTaxCodeRef: the company default (TaxGroupCodeRef 2) = 7.25% + 1.375%.
    assert inv["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "2"
    assert [t["Amount"] for t in inv["TxnTaxDetail"]["TaxLine"]] == [7.25, 1.38]


def test_us_transaction_tax_code_and_non_taxable(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "TAX", TxnTaxDetail={"TxnTaxCodeRef": {"value": "3"}})
    assert inv["TxnTaxDetail"]["TotalTax"] == 7.25 and inv["TotalAmt"] == 107.25
    assert us.invoice(c["Id"], 100, "NON")["TxnTaxDetail"]["TotalTax"] == 0
    exempt = us.customer("Exempt Co", Taxable=False)
    assert us.invoice(exempt["Id"], 100, "TAX")["TxnTaxDetail"]["TotalTax"] == 0


def test_us_lines_only_take_tax_or_non(us):
    c = us.customer()
    assert (
        us.fault(
            us.post("invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [sales_line(10, "3")]})
        )["code"]
        == "610"
    )


def test_uk_vat_codes(uk):
    c = uk.customer()
    inv = uk.create(
        "Invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [
                sales_line(100, "3"),
                sales_line(40, "4"),
                sales_line(30, "2"),
                sales_line(50, "5"),
            ],
        },
    )
    by_rate = {
        t["TaxLineDetail"]["TaxRateRef"]["value"]: t["Amount"]
        for t in inv["TxnTaxDetail"]["TaxLine"]
    }
    assert by_rate == {"1": 20.0, "2": 0, "3": 0, "4": 0}  # reverse charge: no VAT charged
    assert inv["TotalAmt"] == 240.0 and inv["GlobalTaxCalculation"] == "TaxExcluded"


def test_uk_tax_inclusive(uk):
    c = uk.customer()
    inv = uk.create(
        "Invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "GlobalTaxCalculation": "TaxInclusive",
            "Line": [sales_line(120, "3")],
        },
    )
    assert inv["TotalAmt"] == 120.0 and inv["TxnTaxDetail"]["TotalTax"] == 20.0
    assert inv["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == 100.0


def test_uk_requires_a_vat_code_and_rejects_pseudo_codes(uk):
    c = uk.customer()
    line = sales_line(10, "3")
    del line["SalesItemLineDetail"]["TaxCodeRef"]
    err = uk.fault(uk.post("invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [line]}))
    assert err["code"] == "6000" and "VAT rate" in err["Detail"]
    err = uk.fault(
        uk.post("invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [sales_line(10, "TAX")]})
    )
    assert err["code"] == "610"


def test_amount_must_equal_qty_times_unit_price(us):
    c = us.customer()
    ok = us.create(
        "Invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "Line": [sales_line(41.15, "NON", qty=3.5, price=11.7571)],
        },
    )
    assert ok["Line"][0]["Amount"] == 41.15  # 41.14985 rounds half up to 41.15
    bad = us.post(
        "invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "Line": [sales_line(41.14, "NON", qty=3.5, price=11.7571)],
        },
    )
    assert us.fault(bad)["code"] == "6070"


def test_amount_computed_when_omitted(us):
    c = us.customer()
    line = sales_line(0, "NON", qty=2.5, price=0.05)
    del line["Amount"]
    inv = us.create("Invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [line]})
    assert inv["Line"][0]["Amount"] == 0.13  # 0.125 half up; banker's rounding gives 0.12


def test_duplicate_doc_number_is_6140_when_enforced(make_qbo):
    qbo = make_qbo("US")
    c = qbo.customer()
    first = qbo.invoice(c["Id"], DocNumber="INV-1")
    err = qbo.fault(
        qbo.post(
            "invoice",
            {
                "CustomerRef": {"value": c["Id"]},
                "DocNumber": "INV-1",
                "Line": [sales_line(1, "NON")],
            },
        )
    )
    # QBO's recorded answer: code 6140, the Detail naming the document that holds the number.
    assert err["code"] == "6140" and err["Message"] == "Duplicate Document Number Error"
    assert err["Detail"].endswith(
        f"DocNumber=INV-1 is assigned to TxnType=Invoice with TxnId={first['Id']}"
    )
    lax = make_qbo("US", enforce_unique_doc_number=False)
    c2 = lax.customer()
    lax.invoice(c2["Id"], DocNumber="INV-1")
    assert lax.invoice(c2["Id"], DocNumber="INV-1")["DocNumber"] == "INV-1"


def test_doc_number_numbering_and_length(make_qbo):
    custom = make_qbo("US")
    c = custom.customer()
    assert "DocNumber" not in custom.invoice(c["Id"])
    assert custom.invoice(c["Id"], DocNumber="AUTO_GENERATE")["DocNumber"] == "1001"
    err = custom.fault(
        custom.post(
            "invoice",
            {
                "CustomerRef": {"value": c["Id"]},
                "DocNumber": "X" * 22,
                "Line": [sales_line(1, "NON")],
            },
        )
    )
    assert err["code"] == "2050"
    auto = make_qbo("US", custom_txn_numbers=False)
    c2 = auto.customer()
    assert [auto.invoice(c2["Id"])["DocNumber"] for _ in range(2)] == ["1001", "1002"]


def test_full_update_replaces_lines_and_keeps_line_ids(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "NON")
    body = {
        **inv,
        "Line": [
            {
                **inv["Line"][0],
                "Amount": 200,
                "SalesItemLineDetail": {**inv["Line"][0]["SalesItemLineDetail"], "UnitPrice": 200},
            },
            sales_line(5, "NON"),
        ],
    }
    updated = us.create("Invoice", body)
    assert [ln.get("Id") for ln in updated["Line"]] == ["1", "2", None]
    assert updated["TotalAmt"] == 205.0 and updated["SyncToken"] == "1"


def test_void_zeroes_amounts(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100)
    voided = us.create("Invoice", {"Id": inv["Id"], "SyncToken": "0"}, operation="void")
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0
    assert voided["PrivateNote"] == "Voided" and voided["SyncToken"] == "1"
    assert us.read("Customer", c["Id"])["Balance"] == 0


def test_send_sets_email_status(us):
    c = us.customer()
    inv = us.invoice(c["Id"], BillEmail={"Address": "ap@acme.com"})
    assert inv["EmailStatus"] == "NotSet"
    resp = us.http.post(
        f"{us.url}/invoice/{inv['Id']}/send",
        params={"sendTo": "other@acme.com", "minorversion": 75},
        headers={"Content-Type": "application/octet-stream"},
    )
    sent = us.ok(resp, "Invoice")
    assert sent["EmailStatus"] == "EmailSent" and sent["BillEmail"]["Address"] == "other@acme.com"
    assert sent["DeliveryInfo"]["DeliveryType"] == "Email"
    emails = us.sb.admin("GET", f"/realms/{us.realm_id}/emails")
    assert [e["to"] for e in emails] == ["other@acme.com"]


def test_creating_with_email_status_sends_nothing(us):
    c = us.customer()
    us.invoice(c["Id"], BillEmail={"Address": "ap@acme.com"}, EmailStatus="NeedToSend")
    assert us.sb.admin("GET", f"/realms/{us.realm_id}/emails") == []


def test_delete_invoice_leaves_tombstone(us):
    c = us.customer()
    inv = us.invoice(c["Id"])
    gone = us.post("invoice", {"Id": inv["Id"], "SyncToken": "0"}, operation="delete")
    assert us.ok(gone, "Invoice")["status"] == "Deleted"
    assert us.fault(us.get(f"invoice/{inv['Id']}"))["code"] == "610"


def test_credit_memo_totals(uk):
    c = uk.customer()
    memo = uk.create(
        "CreditMemo", {"CustomerRef": {"value": c["Id"]}, "Line": [sales_line(50, "3")]}
    )
    assert memo["TotalAmt"] == 60.0 and memo["RemainingCredit"] == 60.0
    assert uk.read("Customer", c["Id"])["Balance"] == -60.0


def test_invoice_needs_lines(us):
    c = us.customer()
    err = us.fault(us.post("invoice", {"CustomerRef": {"value": c["Id"]}, "Line": []}))
    assert err["code"] == "6000"


def test_us_explicit_total_tax_is_honoured_and_prorated(us):
    # docs/qbo-behaviours.md#tax: "An explicit tax amount sent by you is honoured and prorated
    # across the rates". Code 2 has two rates (7.25% + 1.375%): computed 7.25 + 1.38 = 8.63.
    c = us.customer()
    inv = us.create(
        "Invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": "2"}, "TotalTax": 8.61},
            "Line": [sales_line(100, "TAX")],
        },
    )
    detail = inv["TxnTaxDetail"]
    assert detail["TotalTax"] == 8.61
    assert [t["Amount"] for t in detail["TaxLine"]] == [7.23, 1.38]
    assert inv["TotalAmt"] == 108.61


def test_doc_number_freed_by_delete_and_auto_numbers_continue(make_qbo):
    qbo = make_qbo("US")
    c = qbo.customer()
    first = qbo.invoice(c["Id"], DocNumber="1500")
    qbo.post("invoice", {"Id": first["Id"], "SyncToken": "0"}, operation="delete")
    assert qbo.invoice(c["Id"], DocNumber="1500")["DocNumber"] == "1500"
    assert qbo.invoice(c["Id"], DocNumber="AUTO_GENERATE")["DocNumber"] == "1501"
