"""Idle costs (almost) nothing, counted in the emulator's request log: a CDC pass over changes
already reconciled makes one request per realm (the CDC call), a webhook retry reads nothing,
and a replay of `qbo.changes` reads each invoice at most once, however many notices name it.
Payments are still reconciled (partial, full, deleted) through the same paths."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from consumers.cdc import CdcPoller
from sequence_qbo.qbo_store import store_connection
from tests.helpers import wait_until
from tests.integration.harness import running
from tests.integration.reconcile.world import Reconciling

pytestmark = pytest.mark.integration

SECOND = dt.timedelta(seconds=1)


def _idle_realm(world: Reconciling) -> str:
    """A second connected realm (same token key) with nothing in it."""
    sandbox = world.c.sandbox
    realm = sandbox.create_realm("UK")
    tokens = sandbox.token(realm)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    key = world.c.settings.token_encryption_key
    assert key is not None
    store_connection(
        world.db, key, "acct_idle", realm, tokens["access_token"], tokens["refresh_token"], expires
    )
    return realm


def _past_the_second_of(*stamps: dt.datetime) -> None:
    """Waits until our clock has left the second of the latest stamp: a read begun then saw
    every write carrying it (LastUpdatedTime has whole seconds)."""
    last = max(stamps)
    wait_until(lambda: dt.datetime.now(dt.UTC) >= last + SECOND, message="the stamps' second over")


def _kinds(requests: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter((r["method"], r["entity"].lower()) for r in requests)


class _Passes:
    """CDC passes of every connected realm, each waited on until its notices are reconciled."""

    def __init__(self, world: Reconciling, poller: CdcPoller, runtime: Any) -> None:
        self.world, self.poller, self.runtime = world, poller, runtime
        self.published = 0

    def run(self) -> int:
        notices = self.poller.poll_all()
        self.published += notices
        wait_until(
            lambda: self.runtime.processed >= self.published,
            message=f"{self.published} notices reconciled",
        )
        return notices


def test_cdc_passes_over_changes_already_read_cost_one_request_per_realm(
    world: Reconciling,
) -> None:
    idle = _idle_realm(world)
    partial, paid, unpaid = world.invoice("inv_a"), world.invoice("inv_b"), world.invoice("inv_c")
    first = world.pay(partial, "22.22")
    world.pay(paid, "122.22")
    _past_the_second_of(*(world.stamp("Invoice", i) for i in (partial, paid, unpaid)))
    runtime = world.runtime()
    with running(runtime):
        passes = _Passes(world, world.poller(), runtime)
        assert passes.run() == 3  # no watermarks: a rescan of the invoices not known paid
        world.facts_when(partial, "partial")
        world.facts_when(paid, "paid")
        for _ in range(3):
            seq = world.last_request()
            # The 5-minute overlap names every invoice and Payment again: none is read.
            assert passes.run() == 5
            assert _kinds(world.requests_since(seq)) == {("GET", "cdc"): 1}
            assert _kinds(world.requests_since(seq, realm=idle)) == {("GET", "cdc"): 1}
        # Then a change: the partial Payment deleted, the unpaid invoice paid in full.
        world.delete_payment(first)
        world.pay(unpaid, "122.22")
        _past_the_second_of(world.stamp("Invoice", partial), world.stamp("Invoice", unpaid))
        seq = world.last_request()
        passes.run()
        changed = _kinds(world.requests_since(seq))
        assert changed[("GET", "invoice")] == 2  # the two invoices that changed, once each
        world.facts_when(partial, "unpaid", qbo_payment_ids=[])
        world.facts_when(unpaid, "paid")
        seq = world.last_request()
        passes.run()
        assert _kinds(world.requests_since(seq)) == {("GET", "cdc"): 1}
    assert [s["status"] for s in world.payment_states(partial)] == ["partial", "unpaid"]
    assert [s["status"] for s in world.payment_states(paid)] == ["paid"]
    assert [s["status"] for s in world.payment_states(unpaid)] == ["paid"]


def test_webhook_retries_of_a_notice_read_nothing_more(world: Reconciling) -> None:
    qbo_id = world.invoice("inv_w")
    payment = world.pay(qbo_id, "22.22")
    # As Intuit sends them: stamped with the entity's LastUpdatedTime.
    paid_at, invoice_at = world.stamp("Payment", payment), world.stamp("Invoice", qbo_id)
    runtime = world.runtime()
    with running(runtime):
        world.notify("Payment", payment, "Create", last_updated=paid_at)
        wait_until(lambda: runtime.processed >= 1, message="the first notice reconciled")
        world.facts_when(qbo_id, "partial")
        seq = world.last_request()
        world.notify("Payment", payment, "Create", times=3, last_updated=paid_at)
        world.notify("Invoice", qbo_id, times=2, last_updated=invoice_at)
        wait_until(lambda: runtime.processed >= 6, message="the retries reconciled")
        assert world.requests_since(seq) == []
        # A deletion is acted on, once: then its retries cost nothing either.
        world.delete_payment(payment)
        gone_at = dt.datetime.now(dt.UTC)
        world.notify("Payment", payment, "Delete", last_updated=gone_at)
        world.facts_when(qbo_id, "unpaid", qbo_payment_ids=[])
        wait_until(lambda: runtime.processed >= 7, message="the deletion reconciled")
        seq = world.last_request()
        world.notify("Payment", payment, "Delete", times=2, last_updated=gone_at)
        wait_until(lambda: runtime.processed >= 9, message="its retries reconciled")
        assert world.requests_since(seq) == []
    assert [s["status"] for s in world.payment_states(qbo_id)] == ["partial", "unpaid"]


def _pay_and_notify(world: Reconciling, qbo_id: str, amount: str) -> None:
    """A Payment, and the webhooks Intuit would send: the Payment's twice (a retry), the
    invoice's once, each with its entity's LastUpdatedTime."""
    payment = world.pay(qbo_id, amount)
    stamp = world.stamp("Payment", payment)
    world.notify("Payment", payment, "Create", times=2, last_updated=stamp)
    world.notify("Invoice", qbo_id, last_updated=world.stamp("Invoice", qbo_id))


def test_a_replay_of_qbo_changes_reads_each_invoice_once_at_most(world: Reconciling) -> None:
    a, b, c = world.invoice("inv_ra"), world.invoice("inv_rb"), world.invoice("inv_rc")
    for qbo_id in (a, b, c):  # the invoices' Create webhooks
        world.notify("Invoice", qbo_id, "Create", last_updated=world.stamp("Invoice", qbo_id))
    _pay_and_notify(world, a, "22.22")
    _pay_and_notify(world, a, "100.00")
    _pay_and_notify(world, b, "22.22")
    topic = world.c.settings.topics.qbo_changes
    runtime = world.runtime()
    with running(runtime):
        passes = _Passes(world, world.poller(), runtime)
        passes.published = world.count(topic)
        passes.run()  # a rescan
        _past_the_second_of(*(world.stamp("Invoice", i) for i in (a, b, c)))
        passes.run()  # CDC: every invoice and Payment again
    world.facts_when(a, "paid")
    world.facts_when(b, "partial")
    notices = world.count(topic)

    def states() -> list[list[str]]:
        return [[s["status"] for s in world.payment_states(i)] for i in (a, b, c)]

    # Both of a's Payments were made before the first notice was read: one version, paid.
    assert notices >= 18 and states() == [["paid"], ["partial"], []]

    def replay(group: str) -> Counter[tuple[str, str]]:
        seq = world.last_request()
        runtime = world.runtime(group=group)
        with running(runtime):
            wait_until(lambda: runtime.processed >= notices, message="the replay reconciled")
        return _kinds(world.requests_since(seq))

    assert replay("replay-1") == Counter()  # everything in it was read already
    # Without what was read (a database from before migration 0014): each invoice read once,
    # each Payment that pays another invoice too (none here) or that came first, once.
    with world.db.transaction() as tx:
        tx.conn.execute(b"delete from qbo_reads")
    counted = replay("replay-2")
    assert counted[("GET", "invoice")] <= 3
    assert sum(counted.values()) <= 3 + 2 + 2  # + the Payments first named, + their queries
    assert states() == [["paid"], ["partial"], []]
    assert world.count(world.c.settings.topics.invoice_paid) == 0  # no relay ran: nothing sent
    assert len(world.outbox()) == 1


def test_cdc_reads_once_more_what_was_read_within_its_stamps_second(world: Reconciling) -> None:
    """A second write within the second we read carries the same stamp: CDC's next pass reads
    such a change once more, then the overlap costs nothing again."""
    qbo_id = world.invoice("inv_s")
    payment = world.pay(qbo_id, "22.22")
    invoice_at = world.stamp("Invoice", qbo_id)
    _past_the_second_of(invoice_at)
    runtime = world.runtime()
    with running(runtime):
        passes = _Passes(world, world.poller(), runtime)
        passes.run()  # the rescan reads it, well after its second
        world.facts_when(qbo_id, "partial")
        seq = world.last_request()
        assert passes.run() == 2
        assert _kinds(world.requests_since(seq)) == {("GET", "cdc"): 1}
        # As if that read had begun within the invoice's second (and so the Payment's).
        with world.db.transaction() as tx:
            tx.conn.execute(
                b"update qbo_reads set read_at = %s where realm_id = %s",
                (invoice_at + SECOND / 2, world.c.realm_id),
            )
        seq = world.last_request()
        assert passes.run() == 2
        again = _kinds(world.requests_since(seq))
        assert again[("GET", "invoice")] == 1 and again[("GET", "cdc")] == 1
        seq = world.last_request()
        assert passes.run() == 2
        assert _kinds(world.requests_since(seq)) == {("GET", "cdc"): 1}
    assert [s["status"] for s in world.payment_states(qbo_id)] == ["partial"]
    assert payment in world.facts(qbo_id)["qbo_payment_ids"]
