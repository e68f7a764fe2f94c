"""The outbox relay: publishes what the reconciler queued in its transaction.

Two outboxes: `invoice.paid` (one row per invoice, ever) and the invoice's versioned payment
states, announced as `invoice.payment_status_changed` or, for an invoice paid through a Stripe
payment link, as a `paid_in_qbo_ignored` notice on `qbo.sync_status`.

Order for each batch (a crash at any step leaves a state the next pass finishes):
  1. claim the oldest unsent rows of both (`for update skip locked`: a second relay, in another
     process, takes other rows instead of the same ones; a version waits for the earlier
     versions of its invoice, so they reach the broker in order);
  2. produce each (key = Sequence invoice id) and wait for the broker's acks;
  3. mark them sent, commit.
A crash or a failed ack before 3 commits leaves the rows unsent: they are published again with
the same `event_id` (uuid5 of realm and QBO invoice id, and for a payment state its version),
so consumers deduplicate on it. At-least-once on Kafka, exactly once in the outbox.
Money is written with the currency's minor units (`schemas.money`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from publishing import Publisher, Record
from schemas.money import money_text
from schemas.serde import Serde
from store import reconcile as store
from store.db import Database, Row, Tx
from sync.failures import PAID_IN_QBO_IGNORED

__all__ = [
    "OutboxRelay",
    "event_id",
    "notice_record",
    "payment_state_event_id",
    "payment_state_record",
    "record",
]

log = logging.getLogger(__name__)

EVENT = "invoice.paid"
# Namespace of invoice.paid event ids (deterministic from realm + QBO invoice id: docs/events.md).
_EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sequence-qbo:invoice.paid")
PAYMENT_STATE = "invoice.payment_status_changed"
_STATE_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sequence-qbo:invoice.payment_status_changed")
STATUS = "qbo.sync_status"
_CONTRACT_STATUS = {"unpaid": "UNPAID", "partial": "PARTIALLY_PAID", "paid": "PAID"}


def event_id(realm_id: str, qbo_invoice_id: str) -> uuid.UUID:
    """The same invoice always gets the same id, so a re-publish is recognisable downstream."""
    return uuid.uuid5(_EVENT_IDS, f"{realm_id}:{qbo_invoice_id}")


def payment_state_event_id(realm_id: str, qbo_invoice_id: str, version: int) -> uuid.UUID:
    """Deterministic per (invoice, version): a re-publish of a version keeps its id."""
    return uuid.uuid5(_STATE_IDS, f"{realm_id}:{qbo_invoice_id}:{version}")


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
        "amount_paid": money_text(Decimal(row["amount_paid"]), row["currency"]),
        "paid_at": row["paid_at"],
        "qbo_payment_ids": list(row["qbo_payment_ids"]),
    }


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def payment_state_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `invoice.payment_status_changed` Avro record for a payment-state row."""
    currency = row["currency"]
    return {
        "event_id": str(row["event_id"]),
        "occurred_at": row["occurred_at"],
        "account_id": row["account_id"],
        "invoice_id": row["invoice_id"],
        "invoice_number": row["invoice_number"],
        "realm_id": row["realm_id"],
        "qbo_invoice_id": row["qbo_invoice_id"],
        "version": int(row["version"]),
        "status": _CONTRACT_STATUS[row["status"]],
        "currency": currency,
        "amount_paid": money_text(Decimal(row["amount_paid"]), currency),
        "balance": money_text(Decimal(row["balance"]), currency),
        "payments": [
            {
                "qbo_payment_id": p["qbo_payment_id"],
                "txn_date": _date(p.get("txn_date")),
                "amount": money_text(Decimal(p["amount"]), currency),
            }
            for p in row["payments"]
        ],
    }


def notice_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `qbo.sync_status` notice for a Stripe-link invoice QBO shows paid: the invoice is
    still synced; the reason says QBO's payment was not passed on (docs/failures.md)."""
    ids = ", ".join(p["qbo_payment_id"] for p in row["payments"]) or "none linked"
    message = (
        f"QBO shows invoice {row['qbo_invoice_id']} paid "
        f"({money_text(Decimal(row['amount_paid']), row['currency'])} {row['currency']}; "
        f"Payments: {ids}), but it is paid through a Stripe payment link, so Sequence decides "
        "its payment: no invoice.paid was published. Check the payment in both systems."
    )
    return {
        "event_id": str(uuid.uuid5(row["event_id"], PAID_IN_QBO_IGNORED)),
        "occurred_at": row["occurred_at"],
        "account_id": row["account_id"],
        "document_type": "INVOICE",
        "document_id": row["invoice_id"],
        "status": "SYNCED",
        "reason_code": PAID_IN_QBO_IGNORED,
        "message": message,
        "realm_id": row["realm_id"],
        "qbo_id": row["qbo_invoice_id"],
        "attempts": 1,
        "state": "SYNCED",
        "state_since": None,
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
        payment_state_topic: str,
        status_topic: str,
        batch: int = 100,
        interval: float = 1.0,
        timeout: float = 30.0,
    ) -> None:
        self.db, self.publisher, self.serde, self.topic = db, publisher, serde, topic
        self.payment_state_topic, self.status_topic = payment_state_topic, status_topic
        self.batch, self.interval, self.timeout = batch, interval, timeout

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                sent = self.relay_once()
            except Exception:  # the loop must outlive a broker or database outage
                log.exception("outbox relay pass failed; retrying in %.1fs", self.interval)
                sent = 0
            if sent < self.batch:  # a full batch means more may be waiting: go on at once
                stop.wait(self.interval)

    def relay_once(self) -> int:
        """One batch of each outbox (steps 1-3 of the module docstring); returns how many rows
        were sent (at most `batch` of each)."""
        with self.db.transaction() as tx:
            paid = store.claim_unsent(tx, self.batch)
            states = store.claim_unsent_payment_states(tx, self.batch)
            if not paid and not states:
                return 0
            self.publisher.publish(
                [*map(self._paid, paid), *map(self._state, states)], self.timeout
            )
            self._mark_sent(tx, paid, states)
        log.info("published %d invoice.paid and %d payment state event(s)", len(paid), len(states))
        return max(len(paid), len(states))

    def _paid(self, row: Row) -> Record:
        return Record(
            self.topic, row["invoice_id"], self.serde.encode(EVENT, self.topic, record(row))
        )

    def _state(self, row: Row) -> Record:
        if row["announce"] == PAID_IN_QBO_IGNORED:
            value = self.serde.encode(STATUS, self.status_topic, notice_record(row))
            return Record(self.status_topic, row["invoice_id"], value)
        topic = self.payment_state_topic
        value = self.serde.encode(PAYMENT_STATE, topic, payment_state_record(row))
        return Record(topic, row["invoice_id"], value)

    def _mark_sent(self, tx: Tx, paid: Sequence[Row], states: Sequence[Row]) -> None:
        if paid:
            store.mark_sent(tx, [row["id"] for row in paid])
        if states:
            store.mark_payment_states_sent(tx, [row["id"] for row in states])
