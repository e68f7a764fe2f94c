"""A payment applied in QBO → exactly one `invoice.paid` on Kafka (docs/architecture.md), through
the real runtime, PostgreSQL, the emulator and the outbox relay."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from consumers import outbox
from tests.helpers import wait_until
from tests.integration.harness import running
from tests.integration.reconcile.world import Reconciling, looping

pytestmark = pytest.mark.integration


def test_a_payment_notified_three_times_and_seen_by_cdc_gives_one_invoice_paid(
    world: Reconciling,
) -> None:
    qbo_id = world.invoice("inv_1", number="INV-1001")
    poller = world.poller()
    assert poller.poll_realm(world.c.account_id, world.c.realm_id) == 1  # first pass: rescan
    payment = world.pay(qbo_id, "122.22", on="2026-11-18")
    world.notify("Payment", payment, "Create", times=3)
    world.notify("Invoice", qbo_id)
    runtime = world.runtime()
    with running(runtime), looping(world.relay()):
        assert poller.poll_realm(world.c.account_id, world.c.realm_id) == 2  # Invoice, Payment
        [(key, event)] = world.paid_events(1)
        # 1 rescan + 3 + 1 notices + 2 from CDC, all reconciled
        wait_until(lambda: runtime.processed >= 7, message="every notice reconciled")
        wait_until(lambda: all(r["sent_at"] for r in world.outbox()), message="outbox sent")
    assert world.count(world.c.settings.topics.invoice_paid) == 1
    assert key == "inv_1"
    assert event["event_id"] == outbox.event_id(world.c.realm_id, qbo_id)
    assert (event["account_id"], event["invoice_id"], event["invoice_number"]) == (
        world.c.account_id,
        "inv_1",
        "INV-1001",
    )
    assert (event["realm_id"], event["qbo_invoice_id"], event["currency"]) == (
        world.c.realm_id,
        qbo_id,
        "GBP",
    )
    assert (event["amount_paid"], event["paid_at"], event["qbo_payment_ids"]) == (
        "122.22",
        dt.date(2026, 11, 18),
        [payment],
    )
    assert world.watermark()["last_mode"] == "cdc"


def test_a_stripe_link_invoice_paid_in_qbo_is_recorded_but_announces_nothing(
    world: Reconciling,
) -> None:
    qbo_id = world.invoice("inv_s", stripe=True)
    payment = world.pay(qbo_id, "122.22")
    world.notify("Payment", payment, "Create")
    with running(world.runtime()):
        facts = world.facts_when(qbo_id, "paid")
    assert facts["no_event_reason"] == "stripe_payment_link"
    assert facts["qbo_payment_ids"] == [payment]
    assert world.outbox() == []
    assert world.count(world.c.settings.topics.invoice_paid) == 0


def test_a_partial_payment_announces_nothing_until_the_rest_is_paid(world: Reconciling) -> None:
    qbo_id = world.invoice("inv_p")
    first = world.pay(qbo_id, "22.22", on="2026-11-10")
    world.notify("Payment", first, "Create")
    runtime = world.runtime()
    with running(runtime), looping(world.relay()):
        facts = world.facts_when(qbo_id, "partial")
        assert (facts["amount_paid"], facts["paid_at"]) == (Decimal("22.22"), dt.date(2026, 11, 10))
        assert world.outbox() == []
        second = world.pay(qbo_id, "100.00", on="2026-11-20")
        world.notify("Invoice", qbo_id)
        [(key, event)] = world.paid_events(1)
    assert world.count(world.c.settings.topics.invoice_paid) == 1
    assert key == "inv_p"
    assert (event["amount_paid"], event["paid_at"]) == ("122.22", dt.date(2026, 11, 20))
    assert sorted(event["qbo_payment_ids"]) == sorted([first, second])


def test_with_webhooks_off_the_cdc_poller_alone_produces_invoice_paid(world: Reconciling) -> None:
    qbo_id = world.invoice("inv_c")
    runtime = world.runtime()
    with running(runtime), looping(world.relay(), world.poller(interval=0.2)):
        wait_until(
            lambda: (w := world.watermark()) and w["watermark"] is not None,
            message="the first CDC pass",
        )
        payment = world.pay(qbo_id, "122.22", on="2026-11-19")
        [(key, event)] = world.paid_events(1)
    assert key == "inv_c"
    assert (event["amount_paid"], event["qbo_payment_ids"]) == ("122.22", [payment])
    notices = world.changes(world.count(world.c.settings.topics.qbo_changes))
    assert {n["source"] for n in notices} <= {"CDC", "RESCAN"}
    assert ("Payment", payment, "CDC") in {
        (n["entity"], n["entity_id"], n["source"]) for n in notices
    }
