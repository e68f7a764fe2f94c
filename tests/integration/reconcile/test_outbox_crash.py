"""The outbox survives a crash between the reconciler's commit and the publish, and between the
publish and marking the rows sent: every invoice.paid is published (again, identically)."""

from __future__ import annotations

import pytest

from consumers.outbox import OutboxRelay
from tests.integration.harness import running
from tests.integration.reconcile.world import Reconciling

pytestmark = pytest.mark.integration


class CrashAfterPublish(OutboxRelay):
    """Dies like a killed process would: the records are acknowledged, the rows not marked."""

    def _mark_sent(self, tx, paid, states) -> None:
        raise SystemExit("killed between the broker's ack and the commit")


def _paid(world: Reconciling, *invoice_ids: str) -> list[str]:
    """Pays each invoice in QBO and lets the reconciler queue invoice.paid, with no relay."""
    qbo_ids = [world.invoice(iid) for iid in invoice_ids]
    for qbo_id in qbo_ids:
        world.pay(qbo_id, "122.22")
        world.notify("Invoice", qbo_id)
    with running(world.runtime()):
        for qbo_id in qbo_ids:
            world.facts_when(qbo_id, "paid")
    return qbo_ids


def test_rows_written_while_no_relay_runs_are_published_once_it_starts(world: Reconciling) -> None:
    _paid(world, "inv_a", "inv_b")
    assert [r["sent_at"] for r in world.outbox()] == [None, None]
    assert world.count(world.c.settings.topics.invoice_paid) == 0
    relay = world.relay()
    assert relay.relay_once() == 2
    assert relay.relay_once() == 0
    events = world.paid_events(2)
    assert sorted(key for key, _ in events) == ["inv_a", "inv_b"]
    assert all(r["sent_at"] is not None for r in world.outbox())
    assert world.count(world.c.settings.topics.invoice_paid) == 2


def test_a_crash_after_the_publish_republishes_the_same_events_once_restarted(
    world: Reconciling,
) -> None:
    _paid(world, "inv_a", "inv_b")
    with pytest.raises(SystemExit):
        world.relay(CrashAfterPublish).relay_once()
    assert [r["sent_at"] for r in world.outbox()] == [None, None]  # rolled back with the crash
    assert world.relay().relay_once() == 2  # the restarted process
    assert world.relay().relay_once() == 0
    events = world.paid_events(4)
    assert world.count(world.c.settings.topics.invoice_paid) == 4
    by_invoice: dict[str, set] = {}
    for key, event in events:
        by_invoice.setdefault(key, set()).add(event["event_id"])
    # Published twice each, identically: a consumer deduplicating on event_id sees one each.
    assert sorted(by_invoice) == ["inv_a", "inv_b"]
    assert all(len(ids) == 1 for ids in by_invoice.values())
    assert {e["event_id"] for _, e in events} == {r["event_id"] for r in world.outbox()}


def test_two_relays_at_once_do_not_publish_the_same_row_twice(world: Reconciling) -> None:
    _paid(world, "inv_a")
    first, second = world.relay(), world.relay()
    with world.db.transaction() as tx:
        # Hold the row as a relay mid-publish would; the other relay must skip it.
        from store import reconcile as store

        assert len(store.claim_unsent(tx, 10)) == 1
        assert len(store.claim_unsent_payment_states(tx, 10)) == 1  # its PAID version
        assert second.relay_once() == 0
    assert first.relay_once() == 1
    assert world.count(world.c.settings.topics.invoice_paid) == 1
    assert world.count(world.c.settings.topics.invoice_payment_status_changed) == 1


def test_a_version_waits_while_an_earlier_one_of_its_invoice_is_held_by_another_relay(
    world: Reconciling,
) -> None:
    from store import reconcile as store

    qbo_id = world.invoice("inv_o")
    runtime = world.runtime()
    with running(runtime):
        world.notify("Payment", world.pay(qbo_id, "22.22"))
        world.facts_when(qbo_id, "partial")
        world.notify("Payment", world.pay(qbo_id, "100.00"))
        world.facts_when(qbo_id, "paid")
    assert [r["version"] for r in world.payment_states(qbo_id)] == [1, 2]
    with world.db.transaction() as tx:
        [held] = store.claim_unsent_payment_states(tx, 1)  # a relay mid-publish of version 1
        assert held["version"] == 1
        assert world.relay().relay_once() == 1  # invoice.paid only: version 2 waits
    assert world.count(world.c.settings.topics.invoice_payment_status_changed) == 0
    relay = world.relay()
    assert relay.relay_once() == 1  # version 1 (one version of an invoice per pass)
    assert relay.relay_once() == 1  # then version 2
    assert relay.relay_once() == 0
    assert [e["version"] for _, e in world.states(2)] == [1, 2]
