"""Permanent QBO rejections inside the document sync: each is a `failed` state with its reason
in the ledger and on `qbo.sync_status` (not the runtime's catch-all, not the DLQ), and
`resync` syncs the document once the cause is fixed (the merchant's or operator's part is done
here in QBO, through the client, as they would in QBO's screens)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from consumers._sync_outcome import result_outcome
from consumers.runtime.types import Failed
from schemas.models import Invoice
from store.db import Database
from store.ledger import DocumentType
from sync.documents import DocumentSync
from tests.helpers import wait_until
from tests.integration.invoices.documents import customer, invoice
from tests.integration.invoices.world import World, make_world

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
ACME = customer("cus_acme", "Acme Widgets Ltd")


@pytest.fixture
def world(db: Database, settings, qbo_sandbox, schema_registry_url) -> World:
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.settings(fallback_item_id=w.item_id(), fallback_tax_code_id="3")
    return w


def _sync(world: World, doc: dict[str, Any], at: dt.datetime = NOW) -> Any:
    return world.sync_service().sync(world.c.account_id, Invoice.model_validate(doc), at)


def _resync(world: World, iid: str) -> Any:
    """What `sequence-qbo resync --invoice` does."""
    return world.sync_service().resync(world.c.account_id, DocumentType.INVOICE, iid)


def _failed_with(world: World, iid: str, reason: str, result: Any) -> dict[str, Any]:
    """The document is failed with `reason`, in the ledger and on qbo.sync_status; the
    runtime's outcome is Failed (a state, never the DLQ)."""
    assert (result.outcome, result.reason_code) == ("failed", reason), result.message
    assert isinstance(result_outcome(result), Failed)
    row = world.row("invoice", iid)
    assert row is not None and (row["status"], row["reason_code"]) == ("failed", reason)
    wait_until(
        lambda: ("FAILED", reason) in _announced(world, iid),
        timeout=30,
        message=f"qbo.sync_status FAILED/{reason} for {iid}",
    )
    return row


def _announced(world: World, document_id: str) -> list[tuple[str, str | None]]:
    """(status, reason_code) of every qbo.sync_status record of the document so far."""
    topic = world.c.settings.topics.sync_status
    consumer = Consumer(
        {
            "bootstrap.servers": world.c.settings.kafka_bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1] for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        seen: list[tuple[str, str | None]] = []
        done = {p: end == 0 for p, end in ends.items()}
        while not all(done.values()):
            msg = consumer.poll(1.0)
            if msg is None or msg.error():
                continue
            if msg.offset() + 1 >= ends[msg.partition()]:
                done[msg.partition()] = True
            value = world.serde.decode("qbo.sync_status", msg.value())
            if value["document_id"] == document_id:
                seen.append((value["status"], value["reason_code"]))
        return seen
    finally:
        consumer.close()


def _qbo_customer(world: World, name: str) -> str:
    created = world.client.create(
        "Customer", {"DisplayName": name}, request_id=f"c-{uuid.uuid4().hex}"
    )
    return str(created["Id"])


def _qbo_invoice(world: World, customer_id: str, number: str, amount: str) -> dict[str, Any]:
    """An invoice entered in QBO by hand (no marker of ours), 20% VAT on one line."""
    body = {
        "CustomerRef": {"value": customer_id},
        "DocNumber": number,
        "GlobalTaxCalculation": "TaxExcluded",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": amount,
                "SalesItemLineDetail": {
                    "ItemRef": {"value": world.item_id()},
                    "TaxCodeRef": {"value": "3"},
                },
            }
        ],
    }
    return world.client.create("Invoice", body, request_id=f"i-{uuid.uuid4().hex}")


def _sparse(world: World, entity: str, obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    fresh = world.client.get(entity, str(obj["Id"]))
    return world.client.update(
        entity, str(obj["Id"]), str(fresh["SyncToken"]), changes, request_id=uuid.uuid4().hex
    )


def test_610_an_inactive_item_fails_then_resyncs_once_reactivated(world: World) -> None:
    world.link(ACME)
    item = world.client.get("Item", world.item_id())
    _sparse(world, "Item", item, Active=False)
    result = _sync(world, invoice("r610", ACME, number="R-610"))
    row = _failed_with(world, "r610", "ref_inactive_or_deleted", result)
    assert "610" in row["message"]
    assert world.qbo_invoices() == []
    back = _sparse(world, "Item", item, Active=True)
    assert back["Active"] is True
    again = _resync(world, "r610")
    assert again.outcome == "created", again
    assert world.row("invoice", "r610")["status"] == "synced"


def test_6210_a_doc_number_taken_by_another_document_fails_then_resyncs(world: World) -> None:
    world.link(ACME)
    other = _qbo_invoice(world, _qbo_customer(world, "Someone Else Ltd"), "R-6210", "55.00")
    result = _sync(world, invoice("r6210", ACME, number="R-6210"))
    row = _failed_with(world, "r6210", "duplicate_doc_number", result)
    assert "R-6210" in row["message"] and "6140" in row["message"]
    assert len(world.qbo_invoices()) == 1  # only the other one
    _sparse(world, "Invoice", other, DocNumber="R-6210-OLD")  # the merchant renumbers theirs
    assert _resync(world, "r6210").outcome == "created"
    assert sorted(i["DocNumber"] for i in world.qbo_invoices()) == ["R-6210", "R-6210-OLD"]


def test_6210_the_same_number_customer_and_total_is_ours_and_adopted(world: World) -> None:
    """Entered in QBO by hand before the connection: same DocNumber, customer and total."""
    qbo_customer = world.link(ACME)
    by_hand = _qbo_invoice(world, qbo_customer, "R-OURS", "100.00")
    assert Decimal(str(by_hand["TotalAmt"])) == Decimal("120.00")
    result = _sync(world, invoice("rours", ACME, number="R-OURS"))
    assert result.outcome == "adopted", result.message
    [inv] = world.qbo_invoices()
    assert inv["Id"] == by_hand["Id"] and inv["PrivateNote"] == "sequence:invoice:rours"
    assert world.row("invoice", "rours")["qbo_id"] == by_hand["Id"]


def test_6240_a_customer_name_taken_fails_then_resyncs_once_renamed(world: World) -> None:
    """Auto-create meets a QBO customer of the same name that is not linked (6240)."""
    with world.db.transaction() as tx:
        tx.conn.execute(
            "update account_settings set auto_create_customers = true where account_id = %s",
            (world.c.account_id,),
        )
    holder = _qbo_customer(world, "Acme Widgets Ltd")
    result = _sync(world, invoice("r6240", ACME, number="R-6240"))
    row = _failed_with(world, "r6240", "customer_not_linked", result)
    assert "Acme Widgets Ltd" in row["message"] and holder in row["message"]
    _sparse(world, "Customer", {"Id": holder}, DisplayName="Acme Widgets (old)")
    again = _resync(world, "r6240")
    assert again.outcome == "created", again
    names = sorted(c["DisplayName"] for c in world.qbo("Customer"))
    assert names == ["Acme Widgets (old)", "Acme Widgets Ltd"]


def test_a_second_5010_after_the_reapply_fails_then_resyncs(world: World, monkeypatch) -> None:
    world.link(ACME)
    assert _sync(world, invoice("r5010", ACME, number="R-5010")).outcome == "created"
    [synced] = world.qbo_invoices()
    _sparse(world, "Invoice", synced, CustomerMemo={"value": "edited in QBO"})  # 5010 once
    client = world.factory.for_account(world.c.account_id)[1]
    real_get = client.get

    def someone_edits_again(entity: str, entity_id: str) -> dict[str, Any]:
        read = real_get(entity, entity_id)  # the re-read for the re-apply...
        monkeypatch.setattr(client, "get", real_get)
        _sparse(world, "Invoice", synced, CustomerMemo={"value": "and again"})  # ...goes stale
        return read

    monkeypatch.setattr(client, "get", someone_edits_again)
    sync = DocumentSync(world.db, lambda _account: client, status=world.sync_service().status)
    changed = Invoice.model_validate({**invoice("r5010", ACME, number="R-5010"), "memo": "v2"})
    result = sync.sync(world.c.account_id, changed, NOW + dt.timedelta(hours=1))
    row = _failed_with(world, "r5010", "stale_sync_token", result)
    assert "5010" in row["message"]
    assert _resync(world, "r5010").outcome == "updated"  # nobody edits this time
    [inv] = world.qbo_invoices()
    assert inv["CustomerMemo"]["value"] == "v2"


def test_a_void_qbo_refuses_fails_then_resyncs_once_the_payment_is_gone(world: World) -> None:
    qbo_customer = world.link(ACME)
    doc = invoice("rvoid", ACME, number="R-VOID")
    assert _sync(world, doc).outcome == "created"
    [inv] = world.qbo_invoices()
    payment = world.client.create(
        "Payment",
        {
            "CustomerRef": {"value": qbo_customer},
            "TotalAmt": "120.00",
            "Line": [
                {"Amount": "120.00", "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}
            ],
        },
        request_id=uuid.uuid4().hex,
    )
    voided = Invoice.model_validate({**doc, "status": "VOIDED"})
    result = world.sync_service().void(world.c.account_id, voided)
    row = _failed_with(world, "rvoid", "void_refused", result)
    assert inv["Id"] in row["message"]
    world.client.call(
        "POST",
        "payment",
        params={"operation": "delete"},
        body={"Id": payment["Id"], "SyncToken": payment["SyncToken"]},
        request_id=uuid.uuid4().hex,
    )
    assert _resync(world, "rvoid").outcome == "voided"
    [after] = world.qbo_invoices()
    assert Decimal(str(after["TotalAmt"])) == 0
    assert world.row("invoice", "rvoid")["status"] == "voided"


def test_an_amount_that_cannot_be_computed_fails_then_a_corrected_invoice_syncs(
    world: World,
) -> None:
    """decimal.InvalidOperation while building the payload: failed/amount_invalid, nothing
    sent; the corrected invoice (a newer event) syncs."""
    world.link(ACME)
    most = "999999999999999999.99"  # 18 integer digits: inside the schema's bound, yet
    line = {**invoice("rabs", ACME)["line_item_groups"][0]["line_items"][0]}
    line.update(quantity="999999999999999999", rate=most, amount=most)  # qty x rate overflows
    doc = invoice("rabs", ACME, number="R-ABS", net=most, tax="0")
    doc["line_item_groups"] = [{**doc["line_item_groups"][0], "line_items": [line]}]
    writes = world.writes()
    _failed_with(world, "rabs", "amount_invalid", _sync(world, doc))
    assert world.writes() == writes
    fixed = _sync(world, invoice("rabs", ACME, number="R-ABS"), NOW + dt.timedelta(hours=1))
    assert fixed.outcome == "created"
    assert world.row("invoice", "rabs")["status"] == "synced"
