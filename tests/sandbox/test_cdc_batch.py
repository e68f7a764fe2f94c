"""Change data capture and batch."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.sandbox.support import sales_line


def cdc_blocks(qbo, entities, since):
    resp = qbo.get("cdc", entities=entities, changedSince=since)
    assert resp.status_code == 200, resp.text
    return resp.json()["CDCResponse"][0]["QueryResponse"]


def now_iso(qbo):
    return qbo.sb.admin("GET", "/clock")["now"]


def test_cdc_returns_changes_and_deletions(us):
    c = us.customer()
    # MetaData has whole seconds (as QBO's), so look back a little: an overlapping watermark.
    since = (datetime.fromisoformat(now_iso(us)) - timedelta(seconds=2)).isoformat()
    inv = us.invoice(c["Id"], 10, "NON")
    doomed = us.invoice(c["Id"], 20, "NON")
    us.post("invoice", {"Id": doomed["Id"], "SyncToken": "0"}, operation="delete")
    blocks = cdc_blocks(us, "Invoice,Customer", since)
    invoices = blocks[0]["Invoice"]
    assert [i["Id"] for i in invoices if "status" not in i] == [inv["Id"]]
    assert {"Id": doomed["Id"], "status": "Deleted"}.items() <= invoices[-1].items()
    assert [x["Id"] for x in blocks[1]["Customer"]] == [c["Id"]]
    assert blocks[0]["totalCount"] == 2


def test_deleted_payment_is_in_cdc_with_status_deleted(us):
    c = us.customer()
    since = (datetime.fromisoformat(now_iso(us)) - timedelta(seconds=2)).isoformat()
    inv = us.invoice(c["Id"], 10, "NON")
    body = {
        "CustomerRef": {"value": c["Id"]},
        "TotalAmt": 10,
        "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
    }
    payment = us.create("Payment", body)
    us.post("payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    payments, invoices = cdc_blocks(us, "Payment,Invoice", since)
    # quickbooks-ruby's recorded CDC answer: a deleted object is only Id, status, domain and
    # MetaData.LastUpdatedTime.
    [tomb] = payments["Payment"]
    assert set(tomb) == {"Id", "status", "domain", "MetaData"}
    assert (tomb["Id"], tomb["status"], tomb["domain"]) == (payment["Id"], "Deleted", "QBO")
    assert set(tomb["MetaData"]) == {"LastUpdatedTime"}
    [reopened] = invoices["Invoice"]
    assert reopened["Balance"] == 10 and reopened["LinkedTxn"] == []


def test_cdc_window_is_30_days(us):
    old = (datetime.fromisoformat(now_iso(us)) - timedelta(days=31)).isoformat()
    err = us.fault(us.get("cdc", entities="Invoice", changedSince=old))
    assert err["code"] == "4001"
    recent = (datetime.fromisoformat(now_iso(us)) - timedelta(days=29)).isoformat()
    assert us.get("cdc", entities="Invoice", changedSince=recent).status_code == 200


def test_batch_mixes_results_and_faults_in_a_200(us):
    c = us.customer("Existing")
    items = [
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "New"}},
        {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Existing"}},
        {
            "bId": "3",
            "operation": "create",
            "Invoice": {"CustomerRef": {"value": c["Id"]}, "Line": [sales_line(5, "NON")]},
        },
        {"bId": "4", "Query": "select count(*) from Customer"},
    ]
    resp = us.post("batch", {"BatchItemRequest": items})
    assert resp.status_code == 200
    out = {r["bId"]: r for r in resp.json()["BatchItemResponse"]}
    assert out["1"]["Customer"]["DisplayName"] == "New"
    assert out["2"]["Fault"]["Error"][0]["code"] == "6240"
    assert out["2"]["Fault"]["type"] == "ValidationFault"
    assert out["3"]["Invoice"]["TotalAmt"] == 5.0
    assert out["4"]["QueryResponse"] == {"totalCount": 2}


def test_batch_limit_30(us):
    items = [{"bId": str(i), "Query": "select * from Item"} for i in range(31)]
    assert us.fault(us.post("batch", {"BatchItemRequest": items}))["code"] == "1040"
