"""Payment states beyond "paid" (docs/events.md#invoicepayment_status_changed), through the real
runtime, PostgreSQL, the emulator and the outbox relay: one `invoice.payment_status_changed` per
change of state or amount, versioned per invoice; never one per notice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from consumers import outbox
from sequence_qbo import samples
from tests.helpers import wait_until
from tests.integration.harness import running
from tests.integration.invoices.world import UK_CUSTOMER
from tests.integration.reconcile.world import Reconciling, looping

pytestmark = pytest.mark.integration


def _settled(world: Reconciling, runtime: Any, notices: int) -> None:
    """Every notice reconciled and everything queued published: nothing more can come."""
    wait_until(lambda: runtime.processed >= notices, message=f"{notices} notices reconciled")
    wait_until(world.all_sent, message="both outboxes published")


def _summary(event: dict[str, Any]) -> tuple[Any, ...]:
    ids = [p["qbo_payment_id"] for p in event["payments"]]
    return (event["version"], event["status"], event["amount_paid"], event["balance"], ids)


def test_partial_full_delete_and_full_again_publish_four_versions_and_one_invoice_paid(
    world: Reconciling,
) -> None:
    qbo_id = world.invoice("inv_v", number="V-1")
    runtime = world.runtime()
    with running(runtime), looping(world.relay()):
        first = world.pay(qbo_id, "22.22", on="2026-11-10")
        world.notify("Payment", first, "Create", times=3)  # Intuit retries the webhook
        world.states(1)
        second = world.pay(qbo_id, "100.00", on="2026-11-18")
        world.notify("Payment", second, "Create")
        world.notify("Invoice", qbo_id, times=2)
        world.states(2)
        world.delete_payment(second)  # a deleted Payment can no longer be read
        world.notify("Payment", second, "Delete", times=2)
        world.states(3)
        third = world.pay(qbo_id, "100.00", on="2026-11-25")
        world.notify("Invoice", qbo_id)
        _settled(world, runtime, notices=9)
        events = world.states(4)
    assert world.count(world.c.settings.topics.invoice_payment_status_changed) == 4
    assert [key for key, _ in events] == ["inv_v"] * 4
    assert [_summary(e) for _, e in events] == [
        (1, "PARTIALLY_PAID", "22.22", "100.00", [first]),
        (2, "PAID", "122.22", "0.00", sorted([first, second], key=int)),
        (3, "PARTIALLY_PAID", "22.22", "100.00", [first]),
        (4, "PAID", "122.22", "0.00", sorted([first, third], key=int)),
    ]
    realm = world.c.realm_id
    assert [e["event_id"] for _, e in events] == [
        outbox.payment_state_event_id(realm, qbo_id, v) for v in (1, 2, 3, 4)
    ]
    last = events[-1][1]
    assert (last["invoice_id"], last["invoice_number"], last["qbo_invoice_id"]) == (
        "inv_v",
        "V-1",
        qbo_id,
    )
    assert (last["account_id"], last["realm_id"], last["currency"]) == (
        world.c.account_id,
        realm,
        "GBP",
    )
    assert {p["qbo_payment_id"]: p["txn_date"] for p in last["payments"]} == {
        first: dt.date(2026, 11, 10),
        third: dt.date(2026, 11, 25),
    }
    # The first full payment announced invoice.paid; paid again, the invoice gets no second one.
    assert world.count(world.c.settings.topics.invoice_paid) == 1
    [(_, paid)] = world.paid_events(1)
    assert (paid["amount_paid"], paid["qbo_payment_ids"]) == (
        "122.22",
        sorted([first, second], key=int),
    )


def test_a_voided_payment_reopens_the_invoice_on_the_topic(world: Reconciling) -> None:
    qbo_id = world.invoice("inv_void")
    payment = world.pay(qbo_id, "122.22")
    runtime = world.runtime()
    with running(runtime), looping(world.relay()):
        world.notify("Payment", payment, "Create")
        world.states(1)
        world.void_payment(payment)
        world.notify("Payment", payment, "Void")
        _settled(world, runtime, notices=2)
        events = world.states(2)
    assert [_summary(e) for _, e in events] == [
        (1, "PAID", "122.22", "0.00", [payment]),
        (2, "UNPAID", "0.00", "122.22", []),
    ]
    assert world.facts(qbo_id)["status"] == "unpaid"


def test_webhook_retries_cdc_and_a_rescan_of_the_same_state_publish_nothing_new(
    world: Reconciling,
) -> None:
    qbo_id = world.invoice("inv_r")
    payment = world.pay(qbo_id, "22.22", on="2026-11-10")
    poller = world.poller()
    runtime = world.runtime()
    with running(runtime):
        world.notify("Payment", payment, "Create", times=3)
        world.facts_when(qbo_id, "partial")
        # No watermark yet: a rescan of the invoices not known paid (this partial one).
        assert poller.poll_realm(world.c.account_id, world.c.realm_id) == 1
        assert world.watermark()["last_mode"] == "rescan"
        # Then CDC: the Invoice and the Payment changed within the overlap.
        assert poller.poll_realm(world.c.account_id, world.c.realm_id) == 2
        assert world.watermark()["last_mode"] == "cdc"
        wait_until(lambda: runtime.processed >= 6, message="every notice reconciled")
    relay = world.relay()
    assert relay.relay_once() == 1
    assert relay.relay_once() == 0
    assert [r["version"] for r in world.payment_states(qbo_id)] == [1]
    [(_, event)] = world.states(1)
    assert _summary(event) == (1, "PARTIALLY_PAID", "22.22", "100.00", [payment])
    assert world.count(world.c.settings.topics.invoice_payment_status_changed) == 1


def test_a_stripe_link_invoice_paid_in_qbo_gives_one_notice_and_no_payment_events(
    world: Reconciling,
) -> None:
    qbo_id = world.invoice("inv_s", stripe=True)
    payment = world.pay(qbo_id, "122.22", on="2026-11-18")
    runtime = world.runtime()
    with running(runtime), looping(world.relay()):
        world.notify("Payment", payment, "Create", times=2)
        world.notify("Invoice", qbo_id)
        _settled(world, runtime, notices=3)
        [notice] = wait_until(
            lambda: world.notices("paid_in_qbo_ignored"), message="the paid_in_qbo_ignored notice"
        )
    assert (notice["document_type"], notice["document_id"], notice["qbo_id"]) == (
        "INVOICE",
        "inv_s",
        qbo_id,
    )
    assert (notice["status"], notice["state"], notice["account_id"]) == (
        "SYNCED",
        "SYNCED",
        world.c.account_id,
    )
    assert payment in notice["message"] and "122.22 GBP" in notice["message"]
    assert world.count(world.c.settings.topics.invoice_paid) == 0
    assert world.count(world.c.settings.topics.invoice_payment_status_changed) == 0
    assert world.facts(qbo_id)["no_event_reason"] == "stripe_payment_link"
    [state] = world.payment_states(qbo_id)
    assert (state["status"], state["announce"], state["sent_at"] is not None) == (
        "paid",
        "paid_in_qbo_ignored",
        True,
    )


def _whole_invoice(iid: str) -> dict[str, Any]:
    """360.00 GBP (300.00 net + 60.00 VAT): QBO writes its amounts as 360.0."""
    line = samples.line("l1", "Pro plan", "1", "300.00", "300.00", tax_rate="0.2", tax_amount="60")
    return samples.invoice(
        iid,
        UK_CUSTOMER,
        [samples.group("g1", "November", [line])],
        number=f"N-{iid}",
        net="300.00",
        tax="60.00",
        gross="360.00",
    )


def test_outgoing_amounts_have_the_currencys_minor_units(world: Reconciling) -> None:
    qbo_id = world.invoice("inv_360", _whole_invoice("inv_360"))
    assert str(world.client.get("Invoice", qbo_id)["TotalAmt"]) == "360.0"  # QBO's own writing
    payment = world.pay(qbo_id, "360")
    with running(world.runtime()), looping(world.relay()):
        world.notify("Payment", payment, "Create")
        [(_, paid)] = world.paid_events(1)
        [(_, state)] = world.states(1)
    assert paid["amount_paid"] == "360.00"
    assert (state["amount_paid"], state["balance"]) == ("360.00", "0.00")
    assert state["payments"][0]["amount"] == "360.00"


def test_with_webhooks_off_cdc_alone_catches_a_deleted_payment(world: Reconciling) -> None:
    qbo_id = world.invoice("inv_cdc")
    runtime = world.runtime()
    topic = world.c.settings.topics.qbo_changes

    def deletion_noticed() -> int | None:
        seen = world.count(topic)
        found = {(n["entity"], n["entity_id"], n["operation"]) for n in world.changes(seen)}
        return seen if ("Payment", payment, "Delete") in found else None

    with running(runtime), looping(world.relay(), world.poller(interval=0.2)):
        wait_until(
            lambda: (w := world.watermark()) and w["watermark"] is not None,
            message="the first CDC pass",
        )
        payment = world.pay(qbo_id, "122.22")
        world.states(1)
        world.delete_payment(payment)
        # CDC reports the deleted Payment as `status: "Deleted"`: a Delete notice
        seen = wait_until(deletion_noticed, message="the Delete notice from CDC")
        _settled(world, runtime, notices=seen)
        events = world.states(2)
    assert [_summary(e) for _, e in events] == [
        (1, "PAID", "122.22", "0.00", [payment]),
        (2, "UNPAID", "0.00", "122.22", []),
    ]
    assert world.count(world.c.settings.topics.invoice_payment_status_changed) == 2


def test_an_invoice_paid_before_versions_existed_reopens_as_version_1(world: Reconciling) -> None:
    """Facts recorded before migration 0011 (no versions) are the baseline of the first one."""
    qbo_id = world.invoice("inv_old")
    payment = world.pay(qbo_id, "122.22")
    runtime = world.runtime()
    with running(runtime):
        world.notify("Payment", payment)
        world.facts_when(qbo_id, "paid")
        wait_until(lambda: runtime.processed >= 1, message="the notice reconciled")
    with world.db.transaction() as tx:  # as the database was before the upgrade
        tx.conn.execute(b"delete from invoice_payment_events")
    with running(runtime := world.runtime()), looping(world.relay()):
        world.notify("Invoice", qbo_id)  # the same paid state: no change
        wait_until(lambda: runtime.processed >= 1, message="the rescan reconciled")
        assert world.payment_states(qbo_id) == []
        world.delete_payment(payment)
        world.notify("Payment", payment, "Delete")
        [(_, event)] = world.states(1)
    assert _summary(event) == (1, "UNPAID", "0.00", "122.22", [])


def test_credit_applied_through_a_payment_counts_as_far_as_the_balance_says(
    world: Reconciling,
) -> None:
    """A Payment of 0 applying 22.22 of a credit memo to the invoice: QBO lowers the Balance by
    22.22, so 22.22 is paid (docs/events.md#invoicepayment_status_changed)."""
    qbo_id = world.invoice("inv_cm")
    line = {"ItemRef": {"value": world.item_id()}, "TaxCodeRef": {"value": "4"}}  # 0% Z
    memo = world.client.create(
        "CreditMemo",
        {
            "CustomerRef": {"value": world.customer_id},
            "Line": [
                {
                    "Amount": Decimal("22.22"),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": line,
                }
            ],
        },
        request_id=f"cm-{qbo_id}",
    )
    assert str(memo["TotalAmt"]) == "22.22"
    applied = world.client.create(
        "Payment",
        {
            "CustomerRef": {"value": world.customer_id},
            "TotalAmt": Decimal(0),
            "Line": [
                {
                    "Amount": Decimal("22.22"),
                    "LinkedTxn": [{"TxnId": qbo_id, "TxnType": "Invoice"}],
                },
                {
                    "Amount": Decimal("22.22"),
                    "LinkedTxn": [{"TxnId": str(memo["Id"]), "TxnType": "CreditMemo"}],
                },
            ],
        },
        request_id=f"apply-{qbo_id}",
    )
    with running(world.runtime()), looping(world.relay()):
        world.notify("Payment", str(applied["Id"]))
        [(_, event)] = world.states(1)
    assert _summary(event) == (1, "PARTIALLY_PAID", "22.22", "100.00", [str(applied["Id"])])
    assert event["payments"][0]["amount"] == "22.22"
