"""Waiting is a stored state, woken by what it waits for: a credit note or a void whose invoice
is not in QBO yet, through Kafka. Nothing is dead-lettered."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from store.db import Database
from tests.helpers import wait_until
from tests.integration.harness import running
from tests.integration.invoices.documents import credit_note, customer, invoice
from tests.integration.invoices.world import World, make_world

pytestmark = pytest.mark.integration

ACME = customer("cus_acme", "Acme Widgets Ltd")


@pytest.fixture
def world(db: Database, settings, qbo_sandbox, schema_registry_url) -> World:
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.settings(fallback_item_id=w.item_id(), fallback_tax_code_id="3")
    return w


def _dead_letters(world: World) -> int:
    topic = world.c.settings.topics.dlq
    consumer = Consumer(
        {"bootstrap.servers": world.c.settings.kafka_bootstrap, "group.id": uuid.uuid4().hex}
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or not meta.partitions:
            return 0
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        )
    finally:
        consumer.close()


def _waiting(world: World, doc_type: str, sequence_id: str) -> dict[str, Any]:
    return wait_until(
        lambda: (r := world.row(doc_type, sequence_id)) and r["status"] == "waiting" and r,
        message=f"{doc_type} {sequence_id} stored waiting",
    )


def test_a_credit_note_and_a_void_before_their_invoice_both_end_applied(world: World) -> None:
    world.link(ACME)
    first = invoice("w1", ACME, number="W-1")
    note = credit_note("wc1", ACME, invoice_id="w1", invoice_number="W-1", number="WC-1")
    world.produce("credit_note.sent", "wc1", {"credit_note": note})
    world.produce("invoice.voided", "w1", {"invoice": {**first, "status": "VOIDED"}})
    with running(world.runtime()):
        waiting = _waiting(world, "credit_note", "wc1")
        assert (waiting["reason_code"], waiting["waits_for_id"]) == ("invoice_not_synced", "w1")
        void = _waiting(world, "invoice", "w1")
        assert void["reason_code"] == "invoice_not_synced" and void["void_requested_at"]
        assert world.qbo_invoices() == [] and world.qbo("CreditMemo") == []
        world.produce("invoice.finalized", "w1", {"invoice": first})
        # Created, recorded synced, then voided in the same sync (the void came first).
        wait_until(lambda: world.row("invoice", "w1")["status"] == "voided", message="w1 voided")
        assert world.settled("credit_note", "wc1", timeout=60)["status"] == "synced"
    [inv] = world.qbo_invoices()
    assert inv["DocNumber"] == "W-1" and Decimal(str(inv["TotalAmt"])) == 0  # created, voided
    [memo] = world.qbo("CreditMemo")
    assert memo["DocNumber"] == "WC-1"
    assert _dead_letters(world) == 0


def test_an_invoice_from_before_the_connection_is_found_and_adopted(world: World) -> None:
    """Its invoice.finalized was never seen: the credit note and the void look it up in QBO
    (DocNumber and customer) and adopt it; a ledger row records it."""
    qbo_customer = world.link(ACME)
    by_hand = world.client.create(
        "Invoice",
        {
            "CustomerRef": {"value": qbo_customer},
            "DocNumber": "PRE-1",
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": "100.00",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": world.item_id()},
                        "TaxCodeRef": {"value": "3"},
                    },
                }
            ],
        },
        request_id=uuid.uuid4().hex,
    )
    note = credit_note("pc1", ACME, invoice_id="pre1", invoice_number="PRE-1", number="PC-1")
    world.produce("credit_note.sent", "pc1", {"credit_note": note})
    with running(world.runtime()):
        assert world.settled("credit_note", "pc1")["status"] == "synced"
        adopted = world.row("invoice", "pre1")
        assert adopted["qbo_id"] == by_hand["Id"] and adopted["status"] == "synced"
        voided = {**invoice("pre1", ACME, number="PRE-1"), "status": "VOIDED"}
        world.produce("invoice.voided", "pre1", {"invoice": voided})
        wait_until(
            lambda: world.row("invoice", "pre1")["status"] == "voided", message="pre1 voided"
        )
    [inv] = world.qbo_invoices()  # the one entered by hand, not a copy
    assert inv["Id"] == by_hand["Id"] and Decimal(str(inv["TotalAmt"])) == 0
    [memo] = world.qbo("CreditMemo")
    assert memo["DocNumber"] == "PC-1"
    assert _dead_letters(world) == 0


def test_a_void_alone_adopts_an_invoice_from_before_the_connection(world: World) -> None:
    qbo_customer = world.link(ACME)
    by_hand = world.client.create(
        "Invoice",
        {
            "CustomerRef": {"value": qbo_customer},
            "DocNumber": "PRE-2",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": "50.00",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": world.item_id()},
                        "TaxCodeRef": {"value": "3"},
                    },
                }
            ],
        },
        request_id=uuid.uuid4().hex,
    )
    voided = {**invoice("pre2", ACME, number="PRE-2"), "status": "VOIDED"}
    world.produce("invoice.voided", "pre2", {"invoice": voided})
    with running(world.runtime()):
        row = world.settled("invoice", "pre2")
    assert row["status"] == "voided" and row["qbo_id"] == by_hand["Id"]
    [inv] = world.qbo_invoices()
    assert Decimal(str(inv["TotalAmt"])) == 0
    assert _dead_letters(world) == 0
