"""The ledger's failure states (migration 0008): failed, retrying and waiting rows with their
reason and since when, documents found by what they wait on, and the publication gate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from consumers._sync_outcome import LedgerRecorder, Snapshot
from publishing import KafkaPublisher
from schemas.models import Invoice
from schemas.serde import make_serde
from sequence_qbo import samples
from sequence_qbo.settings import Settings
from store import ledger
from store.db import Database, StoreError
from store.ledger import DocKey, DocumentType
from sync import failures, resync
from sync.publish import Publishing
from tests.integration.harness import read_all

pytestmark = pytest.mark.integration

INVOICE = DocKey("acct_1", DocumentType.INVOICE, "inv_1")
NOTE = DocKey("acct_1", DocumentType.CREDIT_NOTE, "cn_1")
CUSTOMER = DocKey("acct_1", DocumentType.CUSTOMER, "cus_1")


def _row(db: Database, key: DocKey) -> dict[str, Any]:
    with db.transaction() as tx:
        row = ledger.get(tx, key)
    assert row is not None
    return row


def _receive(db: Database, key: DocKey, snapshot: dict[str, Any] | None = None) -> None:
    with db.transaction() as tx:
        ledger.receive(
            tx,
            key,
            customer_id="cus_1",
            snapshot=snapshot or {"id": key.sequence_id},
            snapshot_hash=f"h-{key.sequence_id}",
            occurred_at=dt.datetime.now(dt.UTC),
        )


def test_retrying_keeps_since_when_across_attempts_and_moves_with_the_reason(db: Database) -> None:
    _receive(db, INVOICE)
    with db.transaction() as tx:
        ledger.mark_retrying(tx, INVOICE, "qbo_throttled", "429")
    first = _row(db, INVOICE)
    with db.transaction() as tx:
        ledger.mark_retrying(tx, INVOICE, "qbo_throttled", "429 again")
    again = _row(db, INVOICE)
    with db.transaction() as tx:
        ledger.mark_retrying(tx, INVOICE, "qbo_unavailable", "503")
    other = _row(db, INVOICE)
    assert (first["status"], first["reason_code"]) == ("retrying", "qbo_throttled")
    assert again["state_since"] == first["state_since"] and again["attempts"] == 2
    assert again["message"] == "429 again"
    assert other["state_since"] > first["state_since"] and other["reason_code"] == "qbo_unavailable"


def test_a_state_without_a_row_creates_it(db: Database) -> None:
    with db.transaction() as tx:
        ledger.record_failure(tx, CUSTOMER, "duplicate_name", "taken", customer_id="cus_1")
    row = _row(db, CUSTOMER)
    assert (row["status"], row["reason_code"], row["customer_id"]) == (
        "failed",
        "duplicate_name",
        "cus_1",
    )
    assert row["first_failed_at"] is not None
    with db.transaction() as tx:
        ledger.clear_state(tx, CUSTOMER)
    assert _row(db, CUSTOMER)["status"] == "synced"


def test_a_waiting_document_is_found_by_what_it_waits_for_until_it_stops_waiting(
    db: Database,
) -> None:
    _receive(db, NOTE, {"id": "cn_1", "invoice_id": "inv_1"})
    with db.transaction() as tx:
        ledger.mark_waiting(tx, NOTE, "invoice_not_synced", "waits for inv_1", INVOICE)
        assert ledger.waiting_on(tx, "acct_1", "invoice", "inv_1") == [NOTE]
        assert ledger.waiting_on(tx, "acct_1", "invoice", "inv_2") == []
        assert ledger.waking_for_invoice(tx, "acct_1", "inv_1") == [NOTE]
        ledger.mark_synced(
            tx,
            NOTE,
            realm_id="r1",
            qbo_id="9",
            sync_token="0",
            payload_hash="p",
            request_id="rid",
            exchange_rate=None,
        )
        assert ledger.waiting_on(tx, "acct_1", "invoice", "inv_1") == []
    row = _row(db, NOTE)
    assert (row["waits_for_type"], row["waits_for_id"], row["reason_code"]) == (None, None, None)


def test_a_credit_note_failed_for_its_invoice_before_waiting_existed_is_woken_too(
    db: Database,
) -> None:
    _receive(db, NOTE, {"id": "cn_1", "invoice_id": "inv_1"})
    with db.transaction() as tx:
        ledger.mark_failed(tx, NOTE, reason_code="invoice_not_synced", message="inv_1 failed")
        assert ledger.waking_for_invoice(tx, "acct_1", "inv_1") == [NOTE]
        assert ledger.waking_for_invoice(tx, "acct_1", "inv_9") == []


def test_linking_wakes_failed_and_waiting_documents_of_that_customer_only(db: Database) -> None:
    _receive(db, INVOICE)
    _receive(db, NOTE)
    with db.transaction() as tx:
        ledger.mark_failed(tx, INVOICE, reason_code="customer_not_linked", message="not linked")
        ledger.mark_waiting(tx, NOTE, "customer_not_linked", "not linked", None)
        assert ledger.waking_for_customer(tx, "acct_1", "cus_1") == [NOTE, INVOICE]
        assert ledger.waking_for_customer(tx, "acct_1", "cus_2") == []


def test_problems_list_every_state_with_reason_and_since(db: Database) -> None:
    _receive(db, INVOICE)
    _receive(db, NOTE)
    with db.transaction() as tx:
        ledger.mark_retrying(tx, INVOICE, "qbo_unavailable", "503")
        ledger.mark_waiting(tx, NOTE, "invoice_not_synced", "waits", INVOICE)
    rows = ledger.problems(db, account_id="acct_1")
    assert {(r["sequence_id"], r["status"], r["reason_code"]) for r in rows} == {
        ("inv_1", "retrying", "qbo_unavailable"),
        ("cn_1", "waiting", "invoice_not_synced"),
    }
    assert all(r["state_since"] is not None for r in rows)
    assert [r["sequence_id"] for r in ledger.problems(db, status="waiting")] == ["cn_1"]


def test_the_publication_gate_opens_once_per_state(db: Database) -> None:
    _receive(db, INVOICE)
    with db.transaction() as tx:
        ledger.mark_retrying(tx, INVOICE, "qbo_unavailable", "503")
    assert ledger.publication_due(_row(db, INVOICE))
    ledger.mark_published(db, INVOICE, "retrying", "qbo_unavailable")
    with db.transaction() as tx:
        ledger.mark_retrying(tx, INVOICE, "qbo_unavailable", "503 again")
    assert not ledger.publication_due(_row(db, INVOICE))


def test_a_new_version_synced_is_announced_a_replay_is_not(db: Database) -> None:
    _receive(db, INVOICE)

    def synced(payload_hash: str) -> dict[str, Any]:
        with db.transaction() as tx:
            ledger.mark_synced(
                tx,
                INVOICE,
                realm_id="r1",
                qbo_id="9",
                sync_token="0",
                payload_hash=payload_hash,
                request_id="rid",
                exchange_rate=None,
            )
        return _row(db, INVOICE)

    first = synced("v1")
    assert ledger.publication_due(first)
    ledger.mark_published(db, INVOICE, "synced", None, "v1")
    assert not ledger.publication_due(synced("v1"))  # the same version again
    assert ledger.publication_due(synced("v2"))  # invoice.sent after invoice.finalized


def test_a_failure_state_needs_a_reason(db: Database) -> None:
    _receive(db, INVOICE)
    with pytest.raises((psycopg.errors.CheckViolation, StoreError)), db.transaction() as tx:
        tx.conn.execute(
            "update sync_ledger set status = 'retrying', reason_code = null"
            " where sequence_id = 'inv_1'"
        )


@pytest.fixture
def pub(settings: Settings) -> Iterator[Publishing]:
    publisher = KafkaPublisher(settings.kafka_bootstrap)
    yield Publishing.over(publisher, settings.topics, make_serde(None))
    publisher.close()


def _requests(settings: Settings, pub: Publishing, expected: int) -> list[dict[str, Any]]:
    got = read_all(settings.kafka_bootstrap, settings.topics.resync, expected=expected)
    return [pub.serde.decode("qbo.resync", m.value()) for m in got]


def test_an_invoice_that_syncs_wakes_what_waits_for_it_through_the_resync_topic(
    db: Database, settings: Settings, pub: Publishing
) -> None:
    legacy = DocKey("acct_1", DocumentType.CREDIT_NOTE, "cn_2")
    _receive(db, NOTE, {"id": "cn_1", "invoice_id": "inv_1"})
    _receive(db, legacy, {"id": "cn_2", "invoice_id": "inv_1"})
    with db.transaction() as tx:
        ledger.mark_waiting(tx, NOTE, "invoice_not_synced", "waits for inv_1", INVOICE)
        ledger.mark_failed(tx, legacy, reason_code="invoice_not_synced", message="inv_1 failed")
    assert sorted(resync.resync_waiting_for_invoice(db, pub, "acct_1", "inv_1")) == ["cn_1", "cn_2"]
    requests = _requests(settings, pub, expected=2)
    assert sorted((r["document_type"], r["sequence_id"], r["reason"]) for r in requests) == [
        ("CREDIT_NOTE", "cn_1", "invoice_synced"),
        ("CREDIT_NOTE", "cn_2", "invoice_synced"),
    ]
    assert resync.wake(db, pub, INVOICE) == ["cn_1", "cn_2"]


def test_linking_wakes_the_customers_failed_and_waiting_documents(
    db: Database, settings: Settings, pub: Publishing
) -> None:
    _receive(db, INVOICE)
    _receive(db, NOTE)
    with db.transaction() as tx:
        ledger.mark_failed(tx, INVOICE, reason_code="customer_not_linked", message="not linked")
        ledger.mark_waiting(tx, NOTE, "customer_not_linked", "not linked", None)
    assert resync.resync_waiting_for_customer(db, pub, "acct_1", "cus_1") == ["cn_1", "inv_1"]
    requests = _requests(settings, pub, expected=2)
    assert {(r["sequence_id"], r["reason"]) for r in requests} == {
        ("cn_1", "customer_linked"),
        ("inv_1", "customer_linked"),
    }
    assert resync.resync_waiting_for_customer(db, pub, "acct_1", "cus_nobody") == []


def test_a_failure_before_the_sync_stored_anything_keeps_the_document_for_resync(
    db: Database,
) -> None:
    """E.g. tokens that cannot be decrypted: the sync never began, the state is failed, and
    the event's document is in the ledger so that `resync` can send it once fixed."""
    customer = samples.customer(
        "cus_1", "Acme", "a@x.example", "1 St", "Leeds", "LS1 1AA", "GB", "TAXED"
    )
    line = samples.line("l1", "Plan", "1", "10.00", "10.00")
    invoice = Invoice.model_validate(
        samples.invoice(
            "inv_9",
            customer,
            [{"id": "g", "title": "G", "line_items": [line]}],
            net="10.00",
            gross="10.00",
        )
    )
    key = DocKey("acct_1", DocumentType.INVOICE, "inv_9")
    now = dt.datetime.now(dt.UTC)
    recorder = LedgerRecorder(db, snapshot=Snapshot.of(invoice, now))
    verdict = failures.failed("token_undecryptable", "stored QBO tokens cannot be decrypted")
    assert recorder(key, verdict, None)
    row = _row(db, key)
    assert (row["status"], row["reason_code"], row["customer_id"]) == (
        "failed",
        "token_undecryptable",
        "cus_1",
    )
    assert Invoice.model_validate(row["snapshot"]) == invoice
    assert [r["sequence_id"] for r in ledger.problems(db, reason_code="token_undecryptable")] == [
        "inv_9"
    ]
