"""invoice.paid from an outbox row: the deterministic event id and the Avro record."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from consumers import outbox
from schemas.serde import make_serde


def test_the_event_id_depends_on_realm_and_qbo_invoice_only() -> None:
    first = outbox.event_id("9130", "68")
    assert first == outbox.event_id("9130", "68")
    assert first.version == 5
    assert first != outbox.event_id("9130", "69")
    assert first != outbox.event_id("9131", "68")


def test_the_event_id_is_stable_across_releases() -> None:
    # A consumer dedupes on it: changing the namespace would re-announce every paid invoice.
    assert outbox.event_id("9130", "68") == uuid.uuid5(
        uuid.uuid5(uuid.NAMESPACE_URL, "urn:sequence-qbo:invoice.paid"), "9130:68"
    )


def _row(amount: Decimal) -> dict:
    return {
        "event_id": outbox.event_id("9130", "68"),
        "account_id": "acct_1",
        "invoice_id": "inv_1",
        "invoice_number": "INV-1",
        "realm_id": "9130",
        "qbo_invoice_id": "68",
        "currency": "GBP",
        "amount_paid": amount,
        "paid_at": dt.date(2026, 11, 18),
        "qbo_payment_ids": ["4", "9"],
        "occurred_at": dt.datetime(2026, 11, 18, 10, tzinfo=dt.UTC),
    }


def test_the_record_writes_money_as_an_exact_decimal_string() -> None:
    assert outbox.record(_row(Decimal("122.22")))["amount_paid"] == "122.22"
    assert outbox.record(_row(Decimal("1E+2")))["amount_paid"] == "100"
    assert outbox.record(_row(Decimal("0.10")))["amount_paid"] == "0.10"


def test_the_record_fits_the_invoice_paid_schema() -> None:
    serde = make_serde(None)
    encoded = serde.encode("invoice.paid", "invoice.paid", outbox.record(_row(Decimal("5.5"))))
    decoded = serde.decode("invoice.paid", encoded)
    assert decoded["event_id"] == outbox.event_id("9130", "68")
    assert decoded["paid_at"] == dt.date(2026, 11, 18)
    assert decoded["qbo_payment_ids"] == ["4", "9"]
    assert decoded["amount_paid"] == "5.5"
