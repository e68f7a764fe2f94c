"""The document sync's short transactions: never two pool connections for one sync, none held
while QBO answers, one sync at a time per document (the lease), and what the errors of a sync
become (sync.failures)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from consumers._sync_outcome import result_outcome
from consumers.runtime.types import Retry
from schemas.models import Invoice
from sequence_qbo import wiring
from store import ledger, links
from store.db import Database
from store.ledger import DocKey, DocumentType
from sync import customer_sync
from tests.helpers import wait_until
from tests.integration.harness import running
from tests.integration.invoices.documents import credit_note, customer, invoice
from tests.integration.invoices.pool_watch import PoolWatch
from tests.integration.invoices.world import World, make_world

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(db: Database, settings, qbo_sandbox, schema_registry_url) -> World:
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.settings(fallback_item_id=w.item_id(), fallback_tax_code_id="3", auto_create_customers=True)
    return w


def test_the_watch_sees_a_thread_holding_two_connections(world: World, monkeypatch) -> None:
    """The instrument of the next test can fail: a nested transaction is seen."""
    watch = PoolWatch(world.db, monkeypatch)
    item = world.item_id()
    with world.db.transaction(), world.db.transaction():
        world.client.get("Item", item)
    assert watch.peak == 2
    assert [sent for sent in watch.qbo_while_holding if f"/item/{item}" in sent]


def test_a_sync_never_needs_two_connections_nor_holds_one_while_qbo_answers(
    world: World, monkeypatch
) -> None:
    """New customers auto-created by concurrent invoices, a credit note and a void before
    their invoice, through Kafka: every thread holds at most one connection at a time, and
    none while a QBO request is out."""
    watch = PoolWatch(world.db, monkeypatch)
    alpha, beta = customer("cus_a", "Alpha Ltd"), customer("cus_b", "Beta Ltd")
    void_first = invoice("a1", alpha, number="A-1")
    world.produce("invoice.voided", "a1", {"invoice": {**void_first, "status": "VOIDED"}})
    world.produce(
        "credit_note.sent",
        "cb1",
        {
            "credit_note": credit_note(
                "cb1", beta, invoice_id="b1", invoice_number="B-1", number="CB-1"
            )
        },
    )
    for iid, cust, number in [("a1", alpha, "A-1"), ("a2", alpha, "A-2"), ("a3", alpha, "A-3")]:
        world.produce("invoice.finalized", iid, {"invoice": invoice(iid, cust, number=number)})
    world.produce("invoice.finalized", "b1", {"invoice": invoice("b1", beta, number="B-1")})
    with running(world.runtime()):
        for iid in ("a2", "a3", "b1"):
            assert world.settled("invoice", iid)["status"] == "synced"
        assert world.settled("credit_note", "cb1", timeout=60)["status"] == "synced"
        wait_until(
            lambda: world.row("invoice", "a1")["status"] == "voided", timeout=60, message="voided"
        )
    assert watch.checkouts > 20  # the watch saw the service's work
    assert watch.peak == 1
    assert watch.qbo_while_holding == []
    names = sorted(c["DisplayName"] for c in world.qbo("Customer"))
    assert names == ["Alpha Ltd", "Beta Ltd"]  # one QBO customer each, however many invoices


def test_a_document_another_sync_holds_waits_and_makes_no_call(world: World) -> None:
    sync = world.sync_service()
    doc = Invoice.model_validate(invoice("held1", customer("cus_h", "Held Ltd"), number="H-1"))
    key = DocKey(world.c.account_id, DocumentType.INVOICE, "held1")
    with world.db.transaction() as tx:  # another process claimed it, and is still at it
        ledger.receive(
            tx,
            key,
            customer_id="cus_h",
            snapshot=doc.model_dump(mode="json"),
            snapshot_hash="x",
            occurred_at=NOW,
        )
        assert ledger.claim(tx, key, "someone-else", 60) is not None
    requests = len(world.c.requests())
    busy = sync.sync(world.c.account_id, doc, NOW)
    assert busy.outcome == "busy" and busy.qbo_calls == 0
    assert result_outcome(busy) == Retry(busy.reason_code + ": " + str(busy.message), after=1.0)
    assert len(world.c.requests()) == requests and world.qbo_invoices() == []
    assert world.row("invoice", "held1")["snapshot_hash"] == "x"  # nothing stored meanwhile
    with world.db.transaction() as tx:  # that sync died: its lease expired
        tx.conn.execute(
            "update sync_ledger set lease_until = now() - interval '1 second' "
            "where sequence_id = 'held1'"
        )
    assert sync.sync(world.c.account_id, doc, NOW).outcome == "created"
    row = world.row("invoice", "held1")
    assert row["status"] == "synced" and row["lease_token"] is None


def test_a_customer_a_concurrent_sync_linked_first_is_used(world: World, monkeypatch) -> None:
    """Two syncs for one new customer: the second finds the link the first just committed.
    That is success, not `customer_not_linked`."""
    original = customer_sync.create_from_snapshot
    winner: dict[str, str] = {}

    def first_sync_links_meanwhile(db, client, pub, account_id, cust, digest, **kw):
        # The other sync creates the QBO customer and commits the link, just before ours.
        result = original(db, client, pub, account_id, cust, digest, **kw)
        winner["id"] = result.link.qbo_customer_id
        return original(db, client, pub, account_id, cust, digest, **kw)

    monkeypatch.setattr(customer_sync, "create_from_snapshot", first_sync_links_meanwhile)
    doc = Invoice.model_validate(invoice("race1", customer("cus_r", "Racing Ltd"), number="R-1"))
    result = world.sync_service().sync(world.c.account_id, doc, NOW)
    assert result.outcome == "created", result.message
    link = links.get(world.db, world.c.account_id, "cus_r", realm_id=world.c.realm_id)
    assert link is not None and link.qbo_customer_id == winner["id"]
    [inv] = world.qbo_invoices()
    assert inv["CustomerRef"]["value"] == winner["id"]


def test_a_429_while_auto_creating_the_customer_retries_for_the_realm(world: World) -> None:
    world.c.sandbox.add_fault(
        kind="throttle",
        next=5,
        realm=world.c.realm_id,
        method="POST",
        entity="customer",
        retry_after=30,
    )
    doc = Invoice.model_validate(invoice("thr1", customer("cus_t", "Throttled Ltd"), number="T-1"))
    result = world.sync_service().sync(world.c.account_id, doc, NOW)
    assert (result.outcome, result.reason_code, result.scope) == (
        "retrying",
        "qbo_throttled",
        "realm",
    )
    assert result.retry_after == 30
    outcome = result_outcome(result)
    assert isinstance(outcome, Retry) and outcome.after == 30 and outcome.scope == "realm"
    row = world.row("invoice", "thr1")
    assert row["status"] == "retrying" and row["reason_code"] == "qbo_throttled"
    assert row["state_since"] is not None and row["lease_token"] is None
    world.c.sandbox.clear_faults()
    assert world.sync_service().sync(world.c.account_id, doc, NOW).outcome == "created"


def test_tokens_the_key_cannot_decrypt_fail_at_once_with_the_reason(world: World) -> None:
    from cryptography.fernet import Fernet

    other_key = world.c.settings.model_copy(
        update={"token_encryption_key": Fernet.generate_key().decode()}
    )
    app = wiring.Application(other_key, db=world.db, serde_=world.serde)
    doc = Invoice.model_validate(invoice("key1", customer("cus_k", "Keyed Ltd"), number="K-1"))
    try:
        result = app.document_sync.sync(world.c.account_id, doc, NOW)
    finally:
        app.close()
    assert (result.outcome, result.reason_code) == ("failed", "token_undecryptable")
    assert "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY" in (result.message or "")
    row = world.row("invoice", "key1")
    assert row["status"] == "failed" and row["reason_code"] == "token_undecryptable"
    assert world.qbo_invoices() == []


def test_a_status_the_broker_does_not_take_is_retried_and_the_ledger_stays_true(
    world: World,
) -> None:
    """The broker fails the qbo.sync_status publication after the ledger committed `synced`:
    the event is retried (not the DLQ), the ledger still says synced (no second write), and
    the retry, a replay without a QBO call, announces it."""
    from publishing import PublishFailed
    from sync.documents import DocumentSync

    announce = world.sync_service().status
    failures = [PublishFailed("the broker did not acknowledge in time")]

    def flaky(key: DocKey, result: Any, realm_id: str | None) -> None:
        if failures:
            raise failures.pop()
        announce(key, result, realm_id)

    world.link(customer("cus_s", "Status Ltd"))
    sync = DocumentSync(world.db, world.factory, status=flaky)
    doc = Invoice.model_validate(invoice("st1", customer("cus_s", "Status Ltd"), number="S-1"))
    first = sync.sync(world.c.account_id, doc, NOW)
    assert (first.outcome, first.reason_code) == ("retrying", "kafka_unavailable")
    assert isinstance(result_outcome(first), Retry)
    assert world.row("invoice", "st1")["status"] == "synced"
    writes = world.writes()
    again = sync.sync(world.c.account_id, doc, NOW)  # the runtime's retry
    assert again.outcome == "unchanged" and world.writes() == writes
    row = world.row("invoice", "st1")
    assert (row["published_status"], row["published_reason"]) == ("synced", None)


def test_a_sync_renews_its_lease_and_stops_once_another_took_it(world: World, monkeypatch) -> None:
    """A lease shorter than the sync: renewed before each QBO call, so the sync completes.
    When another sync took the document meanwhile (the lease had expired), this one stops
    before its next QBO call and leaves the document to it."""
    from qbo.transport import Transport
    from sync.documents import DocumentSync

    world.link(customer("cus_l", "Lease Ltd"))
    quick = DocumentSync(world.db, world.factory, lease_seconds=0.001)  # renewed at every call
    renewed = Invoice.model_validate(invoice("lease1", customer("cus_l", "Lease Ltd")))
    assert quick.sync(world.c.account_id, renewed, NOW).outcome == "created"

    send, stolen = Transport.send, []

    def thief_takes_it(transport: Transport, *args: Any, **kwargs: Any) -> Any:
        if not stolen:  # during this sync's first QBO call, its lease runs out and is taken
            with world.db.transaction() as tx:
                tx.conn.execute(
                    "update sync_ledger set lease_token = 'thief', "
                    "lease_until = now() + interval '60 seconds' where sequence_id = 'lease2'"
                )
            stolen.append(args[:2])
        return send(transport, *args, **kwargs)

    with world.db.transaction() as tx:  # an earlier attempt's intent: it looks QBO up first
        tx.conn.execute(
            "insert into create_intents (account_id, document_type, sequence_id, request_id) "
            "values (%s, 'invoice', 'lease2', 'earlier')",
            (world.c.account_id,),
        )
    monkeypatch.setattr(Transport, "send", thief_takes_it)
    doc = Invoice.model_validate(invoice("lease2", customer("cus_l", "Lease Ltd"), number="L-2"))
    result = quick.sync(world.c.account_id, doc, NOW)
    assert result.outcome == "busy" and len(stolen) == 1
    assert [i["PrivateNote"] for i in world.qbo_invoices()] == ["sequence:invoice:lease1"]
    row = world.row("invoice", "lease2")
    assert (row["status"], row["lease_token"]) == ("pending", "thief")  # left to the thief


def test_a_sync_whose_lease_ran_out_while_it_waited_for_the_quota_sends_nothing(
    world: World, monkeypatch
) -> None:
    """A wait for the realm's quota can be as long as the lease: the lease is renewed after
    that wait, right before the request leaves, so a sync whose document another sync took
    meanwhile sends nothing (the other sync's create is the only one)."""
    from contextlib import contextmanager

    from qbo.quota import SharedQuota
    from qbo.transport import Transport
    from sync.documents import DocumentSync

    world.link(customer("cus_q", "Quota Ltd"))
    quick = DocumentSync(world.db, world.factory, lease_seconds=0.001)  # renewed at every call
    slot, send, sent = SharedQuota.slot, Transport.send, []

    @contextmanager
    def slow_grant(quota: SharedQuota) -> Any:
        with slot(quota):  # granted after a wait in which the lease ran out and was taken
            with world.db.transaction() as tx:
                tx.conn.execute(
                    "update sync_ledger set lease_token = 'thief', "
                    "lease_until = now() + interval '60 seconds' where sequence_id = 'quota1'"
                )
            yield

    def counted(transport: Transport, *args: Any, **kwargs: Any) -> Any:
        sent.append(args[:2])
        return send(transport, *args, **kwargs)

    monkeypatch.setattr(SharedQuota, "slot", slow_grant)
    monkeypatch.setattr(Transport, "send", counted)
    doc = Invoice.model_validate(invoice("quota1", customer("cus_q", "Quota Ltd"), number="Q-1"))
    result = quick.sync(world.c.account_id, doc, NOW)
    assert result.outcome == "busy"
    assert sent == []  # nothing left for QBO
    assert world.qbo_invoices() == []
    row = world.row("invoice", "quota1")
    assert (row["status"], row["lease_token"]) == ("pending", "thief")  # left to the thief
