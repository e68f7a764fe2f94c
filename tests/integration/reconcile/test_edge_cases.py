"""Notices the reconciler must take calmly: documents not ours, payments deleted or voided,
other entities; and the CDC poller's rescan beyond the 30-day window."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from consumers.reconcile import Reconciler
from consumers.runtime.types import Done, Event, Message
from tests.integration.reconcile.world import Reconciling

pytestmark = pytest.mark.integration


def _handle(
    world: Reconciling,
    entity: str,
    entity_id: str,
    operation: str = "Update",
    last_updated: dt.datetime | None = None,
) -> object:
    """The reconciler called directly (the Kafka path is covered in test_invoice_paid)."""
    when = last_updated or dt.datetime.now(dt.UTC)
    value = {
        "event_id": uuid.uuid4(),
        "occurred_at": when,
        "account_id": world.c.account_id,
        "realm_id": world.c.realm_id,
        "entity": entity,
        "entity_id": entity_id,
        "operation": operation,
        "last_updated": when,
        "source": "WEBHOOK",
        "dedupe_key": None,
    }
    message = Message("qbo.changes", 0, 0, world.c.realm_id.encode(), b"")
    return Reconciler(world.db, world.factory).handle(Event(message, value))


def test_an_invoice_that_is_not_ours_is_ignored(world: Reconciling) -> None:
    world.invoice("inv_1")  # links the customer
    theirs = world.client.create(
        "Invoice",
        {
            "CustomerRef": {"value": world.customer_id},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": Decimal("10.00"),
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": world.item_id()},
                        "TaxCodeRef": {"value": "3"},
                    },
                }
            ],
        },
        request_id=f"theirs-{uuid.uuid4().hex}",
    )
    payment = world.pay(theirs["Id"], str(theirs["TotalAmt"]))
    assert _handle(world, "Invoice", theirs["Id"]) == Done("ignored")
    assert _handle(world, "Payment", payment, "Create") == Done("ignored")
    assert world.facts(theirs["Id"]) is None and world.outbox() == []


def test_other_entities_are_ignored_without_a_qbo_call(world: Reconciling) -> None:
    before = len(world.c.requests())
    assert _handle(world, "Customer", "1") == Done("ignored")
    assert len(world.c.requests()) == before


def test_a_deleted_payment_reopens_the_invoice_without_fuss(world: Reconciling) -> None:
    qbo_id = world.invoice("inv_d")
    payment = world.pay(qbo_id, "50.00")
    assert _handle(world, "Payment", payment, "Create") == Done("partial")
    current = world.client.get("Payment", payment)
    world.client.call(
        "POST",
        "payment",
        params={"operation": "delete"},
        body={"Id": payment, "SyncToken": current["SyncToken"]},
        request_id=f"del-{uuid.uuid4().hex}",
    )
    assert _handle(world, "Payment", payment, "Delete") == Done("unpaid")
    facts = world.facts(qbo_id)
    assert (facts["status"], facts["amount_paid"], facts["qbo_payment_ids"]) == (
        "unpaid",
        Decimal("0"),
        [],
    )


def test_a_voided_payment_after_invoice_paid_reopens_it_but_announces_nothing_new(
    world: Reconciling,
) -> None:
    qbo_id = world.invoice("inv_v")
    payment = world.pay(qbo_id, "122.22")
    assert _handle(world, "Payment", payment, "Create") == Done("paid")
    current = world.client.get("Payment", payment)
    world.client.void("Payment", payment, current["SyncToken"], request_id=f"v-{uuid.uuid4().hex}")
    assert _handle(world, "Payment", payment, "Void") == Done("unpaid")
    assert world.facts(qbo_id)["qbo_payment_ids"] == []
    assert len(world.outbox()) == 1  # the invoice.paid already queued stays the only one
    again = world.pay(qbo_id, "122.22")
    assert _handle(world, "Payment", again, "Create") == Done("already_paid")
    assert len(world.outbox()) == 1


def test_a_repeated_notice_adds_nothing_and_a_stale_one_costs_no_qbo_call(
    world: Reconciling,
) -> None:
    qbo_id = world.invoice("inv_r")
    world.pay(qbo_id, "122.22")
    assert _handle(world, "Invoice", qbo_id) == Done("paid")
    assert _handle(world, "Invoice", qbo_id) == Done("already_paid")
    before = len(world.c.requests())
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    assert _handle(world, "Invoice", qbo_id, last_updated=an_hour_ago) == Done("unchanged")
    assert len(world.c.requests()) == before
    assert len(world.outbox()) == 1


def test_a_notice_for_a_realm_the_account_left_is_ignored(world: Reconciling) -> None:
    qbo_id = world.invoice("inv_x")
    payment = world.pay(qbo_id, "122.22")
    other = world.c.sandbox.create_realm("UK")
    with world.db.transaction() as tx:
        tx.conn.execute(
            "update qbo_connections set realm_id = %s where account_id = %s",
            (other, world.c.account_id),
        )
    assert _handle(world, "Payment", payment, "Create") == Done("ignored")
    assert world.outbox() == []


def test_a_watermark_beyond_30_days_rescans_the_open_invoices_of_ours(world: Reconciling) -> None:
    paid, open_ = world.invoice("inv_paid"), world.invoice("inv_open")
    world.pay(paid, "122.22")
    assert _handle(world, "Invoice", paid) == Done("paid")
    poller = world.poller()
    assert poller.poll_realm(world.c.account_id, world.c.realm_id) == 1  # no watermark: rescan
    with world.db.transaction() as tx:
        tx.conn.execute("update cdc_watermarks set watermark = now() - interval '31 days'")
    cdc_calls = len(world.c.requests(entity="cdc"))
    assert poller.poll_realm(world.c.account_id, world.c.realm_id) == 1
    assert len(world.c.requests(entity="cdc")) == cdc_calls  # CDC would refuse > 30 days
    notices = world.changes(2)
    assert [(n["entity_id"], n["source"]) for n in notices] == [
        (open_, "RESCAN"),
        (open_, "RESCAN"),
    ]
    mark = world.watermark()
    assert mark["last_mode"] == "rescan"
    assert mark["watermark"] > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


def test_a_failed_cdc_pass_keeps_the_watermark(world: Reconciling) -> None:
    world.invoice("inv_f")
    poller = world.poller()
    poller.poll_realm(world.c.account_id, world.c.realm_id)
    before = world.watermark()["watermark"]
    world.c.sandbox.add_fault(
        kind="error", status=503, probability=1.0, realm=world.c.realm_id, entity="cdc"
    )
    try:
        assert poller.poll_all() == 0
    finally:
        world.c.sandbox.clear_faults()
    mark = world.watermark()
    assert mark["watermark"] == before and mark["last_error"]
