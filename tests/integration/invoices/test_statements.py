"""What one invoice's sync costs PostgreSQL: statements and round trips. At month-end the
service is CPU-bound (its own processes and PostgreSQL), so every statement and every round
trip of a document sync counts: the claim, the create intent and the result are one round trip
each (sync.documents), and what waits for the invoice is read in the result's."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from schemas.models import CreditNote, Invoice
from store import queries
from store.db import Database
from store.ledger import DocKey, DocumentType
from sync import documents
from tests.integration.invoices.documents import credit_note, customer, invoice
from tests.integration.invoices.world import World, make_world

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
# The document sync's own queries (the status sink and the QBO client's store have theirs).
SYNC_QUERIES = {
    "ledger_claim_snapshot",
    "context_for_document",
    "intent_record",
    "ledger_record_synced",
    "ledger_waking_for_invoice",
    "ledger_record_skipped",
}


class Meter:
    """Counts, for the calling thread only, the statements sent (by query name), and the
    round trips: one per statement or BEGIN/COMMIT sent alone, one per pipeline."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: Counter[str] = Counter()
        self.round_trips = 0
        self.commands: Counter[str] = Counter()
        self._thread = threading.get_ident()
        by_sql = {sql: name for name, sql in queries.all_queries().items()}
        execute, command = psycopg.Connection.execute, psycopg.Connection._exec_command
        pipeline = psycopg.Connection.pipeline

        def counted_execute(conn: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            if self._mine():
                text = query.decode() if isinstance(query, bytes) else str(query)
                self.names[by_sql.get(text, "other")] += 1
                self.round_trips += conn._pipeline is None
            return execute(conn, query, *args, **kwargs)

        def counted_command(conn: Any, cmd: Any, *args: Any, **kwargs: Any) -> Any:
            if self._mine():
                self.commands[bytes(cmd).split()[0].decode()] += 1
                self.round_trips += conn._pipeline is None
            return command(conn, cmd, *args, **kwargs)

        @contextmanager
        def counted_pipeline(conn: Any) -> Iterator[Any]:
            if self._mine() and conn._pipeline is None:
                self.round_trips += 1
            with pipeline(conn) as p:
                yield p

        monkeypatch.setattr(psycopg.Connection, "execute", counted_execute)
        monkeypatch.setattr(psycopg.Connection, "_exec_command", counted_command)
        monkeypatch.setattr(psycopg.Connection, "pipeline", counted_pipeline)

    def _mine(self) -> bool:
        return threading.get_ident() == self._thread

    @property
    def statements(self) -> int:
        return sum(self.names.values())

    def sync_statements(self) -> Counter[str]:
        return Counter({n: c for n, c in self.names.items() if n in SYNC_QUERIES})

    def reset(self) -> None:
        self.names.clear()
        self.commands.clear()
        self.round_trips = 0


@pytest.fixture
def world(db: Database, settings, qbo_sandbox, schema_registry_url) -> World:
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.settings(fallback_item_id=w.item_id(), fallback_tax_code_id="3", auto_create_customers=True)
    return w


def test_a_new_invoice_is_claimed_intended_and_recorded_in_one_round_trip_each(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = world.sync_service()
    acme = customer("cus_s", "Statements Ltd")
    first = Invoice.model_validate(invoice("st1", acme, number="S-1"))
    assert sync.sync(world.c.account_id, first, NOW).outcome == "created"  # links the customer
    meter = Meter(monkeypatch)
    second = Invoice.model_validate(invoice("st2", acme, number="S-2"))
    assert sync.sync(world.c.account_id, second, NOW).outcome == "created"
    print(
        f"new invoice: {meter.statements} statements ({dict(meter.names)}), "
        f"{dict(meter.commands)}, {meter.round_trips} round trips"
    )
    assert meter.sync_statements() == Counter(
        {
            "ledger_claim_snapshot": 1,
            "context_for_document": 1,
            "intent_record": 1,
            "ledger_record_synced": 1,
            "ledger_waking_for_invoice": 1,
        }
    )
    # The sync's own: claim + context, the intent, the result + what waits: three round trips,
    # no BEGIN nor COMMIT; the rest is the status sink's and the QBO client's store.
    assert meter.round_trips <= 3 + (meter.statements - 5) + sum(meter.commands.values())
    row = world.row("invoice", "st2")
    assert row is not None and row["status"] == "synced" and row["lease_token"] is None
    assert row["synced_snapshot_hash"] == row["snapshot_hash"] and row["attempts"] == 1

    meter.reset()  # a replay: the claim's round trip, and the skip's
    assert sync.sync(world.c.account_id, second, NOW).outcome == "unchanged"
    print(f"replay: {meter.statements} statements ({dict(meter.names)})")
    assert meter.sync_statements() == Counter(
        {
            "ledger_claim_snapshot": 1,
            "context_for_document": 1,
            "ledger_record_skipped": 1,
            "ledger_waking_for_invoice": 1,
        }
    )


def test_a_credit_note_waiting_for_its_invoice_is_woken_by_the_round_trip_that_records_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The invoice's result reads its waiters after taking its lock: the credit note that
    decided to wait under that lock is found there, and asked to re-sync once (no look-up
    after the result)."""
    sync = world.sync_service()
    acme = customer("cus_w", "Waiting Ltd")
    note = CreditNote.model_validate(
        credit_note("cw1", acme, invoice_id="iw1", invoice_number="W-1", number="CW-1")
    )
    assert sync.sync(world.c.account_id, note, NOW).outcome == "waiting"
    woken: list[DocKey] = []

    def resync(pub: Any, keys: list[DocKey], *, reason: str) -> list[str]:
        woken.extend(keys)
        return [key.sequence_id for key in keys]

    monkeypatch.setattr(documents, "resync_documents", resync)
    monkeypatch.setattr(
        documents, "resync_waiting_for_invoice", lambda *a: pytest.fail("looked up again")
    )
    inv = Invoice.model_validate(invoice("iw1", acme, number="W-1"))
    assert sync.sync(world.c.account_id, inv, NOW).outcome == "created"
    assert woken == [DocKey(world.c.account_id, DocumentType.CREDIT_NOTE, "cw1")]
