"""The `invoice.paid` outbox relay: publishes what the reconciler queued in its transaction.

Order for each batch (a crash at any step leaves a state the next pass finishes):
  1. claim the oldest unsent outbox rows (`for update skip locked`: a second relay, in another
     process, takes other rows instead of the same ones);
  2. produce each to `invoice.paid` (key = Sequence invoice id) and wait for the broker's acks;
  3. mark them sent, commit.
A crash or a failed ack before 3 commits leaves the rows unsent: they are published again with
the same `event_id` (uuid5 of realm and QBO invoice id), so consumers deduplicate on it.
At-least-once on Kafka, exactly once per invoice in the outbox.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from publishing import Publisher, Record
from schemas.serde import Serde
from store import reconcile as store
from store.db import Database, Row, Tx

__all__ = ["OutboxRelay", "event_id", "record"]

log = logging.getLogger(__name__)

EVENT = "invoice.paid"
# Namespace of invoice.paid event ids (deterministic from realm + QBO invoice id: docs/events.md).
_EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sequence-qbo:invoice.paid")


def event_id(realm_id: str, qbo_invoice_id: str) -> uuid.UUID:
    """The same invoice always gets the same id, so a re-publish is recognisable downstream."""
    return uuid.uuid5(_EVENT_IDS, f"{realm_id}:{qbo_invoice_id}")


def _decimal_text(value: Decimal) -> str:
    # 'f' never writes an exponent: the schema's "exact decimal as a string" (1E+2 is not one).
    return f"{value:f}"


def record(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `invoice.paid` Avro record for an outbox row."""
    return {
        "event_id": str(row["event_id"]),
        "occurred_at": row["occurred_at"],
        "account_id": row["account_id"],
        "invoice_id": row["invoice_id"],
        "invoice_number": row["invoice_number"],
        "realm_id": row["realm_id"],
        "qbo_invoice_id": row["qbo_invoice_id"],
        "currency": row["currency"],
        "amount_paid": _decimal_text(Decimal(row["amount_paid"])),
        "paid_at": row["paid_at"],
        "qbo_payment_ids": list(row["qbo_payment_ids"]),
    }


class OutboxRelay:
    """Publishes unsent outbox rows until stopped. Construction does no I/O."""

    name = "outbox-relay"

    def __init__(
        self,
        db: Database,
        publisher: Publisher,
        serde: Serde,
        topic: str,
        *,
        batch: int = 100,
        interval: float = 1.0,
        timeout: float = 30.0,
    ) -> None:
        self.db, self.publisher, self.serde, self.topic = db, publisher, serde, topic
        self.batch, self.interval, self.timeout = batch, interval, timeout

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                sent = self.relay_once()
            except Exception:  # the loop must outlive a broker or database outage
                log.exception("invoice.paid relay pass failed; retrying in %.1fs", self.interval)
                sent = 0
            if sent < self.batch:  # a full batch means more may be waiting: go on at once
                stop.wait(self.interval)

    def relay_once(self) -> int:
        """One batch (steps 1-3 of the module docstring); returns how many rows were sent."""
        with self.db.transaction() as tx:
            rows = store.claim_unsent(tx, self.batch)
            if not rows:
                return 0
            self._publish(rows)
            self._mark_sent(tx, rows)
        log.info("published %d invoice.paid event(s)", len(rows))
        return len(rows)

    def _publish(self, rows: Sequence[Row]) -> None:
        records = [
            Record(self.topic, row["invoice_id"], self.serde.encode(EVENT, self.topic, record(row)))
            for row in rows
        ]
        self.publisher.publish(records, self.timeout)

    def _mark_sent(self, tx: Tx, rows: Sequence[Row]) -> None:
        store.mark_sent(tx, [row["id"] for row in rows])
