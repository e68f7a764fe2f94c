"""A realm's backlog of creates goes out through QBO's /batch, exactly once: real Kafka,
PostgreSQL and the emulator, `run`'s application with 30 handlers in flight per realm."""

from __future__ import annotations

from typing import Any

import pytest

from qbo.client import MAX_BATCH
from sequence_qbo.settings import Settings
from tests.helpers import wait_until
from tests.integration.monthend.world import (
    Records,
    connect_accounts,
    consuming,
    count,
    realm_of,
    send,
)

pytestmark = pytest.mark.integration

SYNCED = "select count(*) as n from sync_ledger where account_id = %s and status = 'synced'"


def _invoices(sandbox: Any, realm: str) -> list[dict[str, Any]]:
    return list(sandbox.objects(realm, "Invoice")["objects"])


def _posts(sandbox: Any, realm: str, entity: str) -> int:
    return len(sandbox.requests(realm=realm, method="POST", entity=entity))


def test_a_backlog_of_100_invoices_goes_out_in_batches(
    settings: Settings, qbo_sandbox, schema_registry_url
) -> None:
    connected, [account] = connect_accounts(settings, qbo_sandbox, 1)
    records = Records(connected, schema_registry_url)
    send(connected, [records.invoice(account, f"b{n}", f"B-{n}") for n in range(100)])
    with consuming(connected, schema_registry_url) as app:
        wait_until(
            lambda: count(app.db, SYNCED, account) == 100,
            timeout=120,
            interval=0.5,
            message="100 invoices synced",
        )
        realm = realm_of(app.db, account)
        stats = app.document_sync.batcher.stats  # type: ignore[union-attr]
    invoices = _invoices(qbo_sandbox, realm)
    assert sorted(i["DocNumber"] for i in invoices) == sorted(f"B-{n}" for n in range(100))
    batches = _posts(qbo_sandbox, realm, "batch")
    singles = _posts(qbo_sandbox, realm, "invoice")
    # Every create went once: alone or inside a batch, never both, never twice.
    assert stats.singles + stats.batched == 100
    assert (batches, singles) == (stats.batches, stats.singles)
    assert batches >= -(-100 // MAX_BATCH)
    assert stats.batched >= 80, stats  # most of the backlog went in batches
    assert batches + singles < 40  # versus 100 requests one by one


def test_an_item_fault_fails_only_its_document(
    settings: Settings, qbo_sandbox, schema_registry_url
) -> None:
    """QBO refuses one item of a batch (its DocNumber belongs to another customer's invoice):
    that document is failed/duplicate_doc_number, every other one of the batch is synced."""
    connected, [account] = connect_accounts(settings, qbo_sandbox, 1)
    records = Records(connected, schema_registry_url)
    with consuming(connected, schema_registry_url) as app:
        # One invoice first: it creates the customer "cus_1" and takes DocNumber TAKEN-1.
        send(connected, [records.invoice(account, "first", "TAKEN-1", cus="cus_other")])
        wait_until(lambda: count(app.db, SYNCED, account) == 1, timeout=60, interval=0.2)
        realm = realm_of(app.db, account)
        batch = [records.invoice(account, f"i{n}", f"I-{n}") for n in range(60)]
        batch[37] = records.invoice(account, "clash", "TAKEN-1")  # another customer's number
        send(connected, batch)
        wait_until(
            lambda: (
                count(
                    app.db,
                    "select count(*) as n from sync_ledger where account_id = %s "
                    "and status in ('synced', 'failed')",
                    account,
                )
                == 61
            ),
            timeout=120,
            interval=0.5,
            message="every invoice synced or failed",
        )
        with app.db.transaction() as tx:
            failed = tx.conn.execute(
                "select sequence_id, reason_code from sync_ledger "
                "where account_id = %s and status = 'failed'",
                (account,),
            ).fetchall()
        stats = app.document_sync.batcher.stats  # type: ignore[union-attr]
    assert [(r["sequence_id"], r["reason_code"]) for r in failed] == [
        ("clash", "duplicate_doc_number")
    ]
    assert count_synced_numbers(qbo_sandbox, realm) == 1 + 59  # the first, the batch but one
    assert stats.singles + stats.batched == 61
    assert stats.batches >= 2


def count_synced_numbers(sandbox: Any, realm: str) -> int:
    numbers = [i["DocNumber"] for i in _invoices(sandbox, realm)]
    assert len(numbers) == len(set(numbers))
    return len(numbers)


def test_a_lost_batch_answer_is_adopted_without_duplicates(
    settings: Settings, qbo_sandbox, schema_registry_url
) -> None:
    """QBO runs the batch, the answer is lost every time the client asks (4 attempts): each
    document of the batch retries, finds its invoice in QBO (its create intent is committed)
    and adopts it; none is created twice."""
    connected, [account] = connect_accounts(settings, qbo_sandbox, 1)
    records = Records(connected, schema_registry_url)
    with consuming(connected, schema_registry_url) as app:
        realm = realm_of(app.db, account)
        qbo_sandbox.add_fault(
            kind="commit_drop", next=4, realm=realm, method="POST", entity="batch"
        )
        send(connected, [records.invoice(account, f"l{n}", f"L-{n}") for n in range(40)])
        wait_until(
            lambda: count(app.db, SYNCED, account) == 40,
            timeout=180,
            interval=0.5,
            message="40 invoices synced",
        )
    assert qbo_sandbox.stats()["faults_fired"].get("commit_drop", 0) >= 4
    numbers = [i["DocNumber"] for i in _invoices(qbo_sandbox, realm)]
    assert sorted(numbers) == sorted(f"L-{n}" for n in range(40))  # each exactly once
    # The dropped batch's documents were found by a look-up (a query), not created again.
    log = qbo_sandbox.requests(realm=realm)
    assert any(e["operation"] == "query" for e in log), {e["operation"] for e in log}
