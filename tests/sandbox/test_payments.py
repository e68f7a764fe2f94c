"""Payments reduce the linked invoices' Balance; void and delete give it back."""

from __future__ import annotations

from tests.sandbox.support import sales_line


def pay(qbo, customer_id, total, *links):
    lines = [
        {"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": kind}]}
        for kind, txn, amount in links
    ]
    return qbo.post(
        "payment", {"CustomerRef": {"value": customer_id}, "TotalAmt": total, "Line": lines}
    )


def test_payment_settles_invoice_and_bumps_its_sync_token(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "NON")
    payment = us.ok(pay(us, c["Id"], 100, ("Invoice", inv["Id"], 100)), "Payment")
    assert payment["UnappliedAmt"] == 0
    # Undeposited Funds (seeded Id 3); QBO answers this ref without a name.
    assert payment["DepositToAccountRef"] == {"value": "3"}
    after = us.read("Invoice", inv["Id"])
    assert after["Balance"] == 0 and after["SyncToken"] == "1"
    assert after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert us.read("Customer", c["Id"])["Balance"] == 0


def test_partial_payment_and_unapplied_amount(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "NON")
    payment = us.ok(pay(us, c["Id"], 70, ("Invoice", inv["Id"], 40)), "Payment")
    assert payment["UnappliedAmt"] == 30.0
    assert us.read("Invoice", inv["Id"])["Balance"] == 60.0
    assert us.read("Customer", c["Id"])["Balance"] == 30.0


def test_overpaying_an_invoice_is_rejected(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "NON")
    assert us.fault(pay(us, c["Id"], 150, ("Invoice", inv["Id"], 150)))["code"] == "6000"
    assert us.fault(pay(us, c["Id"], 10, ("Invoice", inv["Id"], 50)))["code"] == "6000"
    assert us.read("Invoice", inv["Id"])["Balance"] == 100.0


def test_payment_for_another_customers_invoice_is_rejected(us):
    a, b = us.customer("A"), us.customer("B")
    inv = us.invoice(a["Id"], 10, "NON")
    assert us.fault(pay(us, b["Id"], 10, ("Invoice", inv["Id"], 10)))["code"] == "6000"
    assert us.fault(pay(us, b["Id"], 10, ("Invoice", "999", 10)))["code"] == "610"


def test_void_and_delete_payment_reopen_invoice(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "NON")
    first = us.ok(pay(us, c["Id"], 100, ("Invoice", inv["Id"], 100)), "Payment")
    voided = us.create(
        "Payment",
        {"Id": first["Id"], "SyncToken": "0", "sparse": True},
        operation="update",
        include="void",
    )
    assert voided["TotalAmt"] == 0 and us.read("Invoice", inv["Id"])["Balance"] == 100.0
    second = us.ok(pay(us, c["Id"], 100, ("Invoice", inv["Id"], 100)), "Payment")
    assert us.read("Invoice", inv["Id"])["Balance"] == 0
    us.ok(us.post("payment", {"Id": second["Id"], "SyncToken": "0"}, operation="delete"), "Payment")
    assert us.read("Invoice", inv["Id"])["Balance"] == 100.0


def test_updating_payment_moves_the_application(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "NON")
    p = us.ok(pay(us, c["Id"], 100, ("Invoice", inv["Id"], 100)), "Payment")
    us.create(
        "Payment",
        {**p, "Line": [{"Amount": 25, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]},
    )
    assert us.read("Invoice", inv["Id"])["Balance"] == 75.0


def test_invoice_with_payment_cannot_be_voided_or_deleted(us):
    c = us.customer()
    inv = us.invoice(c["Id"], 100, "NON")
    us.ok(pay(us, c["Id"], 50, ("Invoice", inv["Id"], 50)), "Payment")
    inv = us.read("Invoice", inv["Id"])
    ident = {"Id": inv["Id"], "SyncToken": inv["SyncToken"]}
    assert us.fault(us.post("invoice", ident, operation="void"))["code"] == "6000"
    assert us.fault(us.post("invoice", ident, operation="delete"))["code"] == "6000"


def test_credit_memo_applied_through_payment(uk):
    c = uk.customer()
    inv = uk.create("Invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [sales_line(100, "4")]})
    memo = uk.create(
        "CreditMemo", {"CustomerRef": {"value": c["Id"]}, "Line": [sales_line(30, "4")]}
    )
    payment = uk.ok(
        pay(uk, c["Id"], 70, ("Invoice", inv["Id"], 100), ("CreditMemo", memo["Id"], 30)), "Payment"
    )
    assert payment["UnappliedAmt"] == 0
    assert uk.read("Invoice", inv["Id"])["Balance"] == 0
    assert uk.read("CreditMemo", memo["Id"])["RemainingCredit"] == 0
