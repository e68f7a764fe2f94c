"""The outbox's records: invoice.paid, invoice.payment_status_changed and the paid_in_qbo_ignored
notice, with their deterministic event ids, money written with the currency's minor units."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from consumers import outbox
from schemas import models
from schemas.serde import make_serde
from sync.failures import PAID_IN_QBO_IGNORED


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


def _row(amount: Decimal, currency: str = "GBP") -> dict:
    return {
        "event_id": outbox.event_id("9130", "68"),
        "account_id": "acct_1",
        "invoice_id": "inv_1",
        "invoice_number": "INV-1",
        "realm_id": "9130",
        "qbo_invoice_id": "68",
        "currency": currency,
        "amount_paid": amount,
        "paid_at": dt.date(2026, 11, 18),
        "qbo_payment_ids": ["4", "9"],
        "occurred_at": dt.datetime(2026, 11, 18, 10, tzinfo=dt.UTC),
    }


def test_the_record_writes_money_with_the_currencys_minor_units() -> None:
    assert outbox.record(_row(Decimal("122.22")))["amount_paid"] == "122.22"
    assert outbox.record(_row(Decimal("360.0")))["amount_paid"] == "360.00"  # QBO's 360.0
    assert outbox.record(_row(Decimal("1E+2")))["amount_paid"] == "100.00"
    assert outbox.record(_row(Decimal("0.1")))["amount_paid"] == "0.10"
    assert outbox.record(_row(Decimal("360.0"), "JPY"))["amount_paid"] == "360"
    assert outbox.record(_row(Decimal("1.5"), "KWD"))["amount_paid"] == "1.500"


def test_the_record_fits_the_invoice_paid_schema() -> None:
    serde = make_serde(None)
    encoded = serde.encode("invoice.paid", "invoice.paid", outbox.record(_row(Decimal("5.5"))))
    decoded = serde.decode("invoice.paid", encoded)
    assert decoded["event_id"] == outbox.event_id("9130", "68")
    assert decoded["paid_at"] == dt.date(2026, 11, 18)
    assert decoded["qbo_payment_ids"] == ["4", "9"]
    assert decoded["amount_paid"] == "5.50"


def _state(version: int, status: str, paid: str, balance: str, **extra: object) -> dict:
    return {
        "id": version,
        "event_id": outbox.payment_state_event_id("9130", "68", version),
        "account_id": "acct_1",
        "invoice_id": "inv_1",
        "invoice_number": "INV-1",
        "realm_id": "9130",
        "qbo_invoice_id": "68",
        "version": version,
        "status": status,
        "currency": "GBP",
        "amount_paid": Decimal(paid),
        "balance": Decimal(balance),
        "payments": [{"qbo_payment_id": "4", "txn_date": "2026-11-18", "amount": "22.2"}],
        "announce": "payment_status_changed",
        "occurred_at": dt.datetime(2026, 11, 18, 10, tzinfo=dt.UTC),
        **extra,
    }


def test_a_payment_state_id_depends_on_realm_invoice_and_version() -> None:
    first = outbox.payment_state_event_id("9130", "68", 1)
    assert first == outbox.payment_state_event_id("9130", "68", 1)
    assert first == uuid.uuid5(
        uuid.uuid5(uuid.NAMESPACE_URL, "urn:sequence-qbo:invoice.payment_status_changed"),
        "9130:68:1",
    )
    others = {
        outbox.payment_state_event_id("9130", "68", 2),
        outbox.payment_state_event_id("9130", "69", 1),
        outbox.payment_state_event_id("9131", "68", 1),
        outbox.event_id("9130", "68"),
    }
    assert first not in others and len(others) == 4


@pytest.mark.parametrize(
    ("status", "expected"),
    [("unpaid", "UNPAID"), ("partial", "PARTIALLY_PAID"), ("paid", "PAID")],
)
def test_a_payment_state_fits_its_schema(status: str, expected: str) -> None:
    serde = make_serde(None)
    event = "invoice.payment_status_changed"
    record = outbox.payment_state_record(_state(3, status, "22.2", "100"))
    decoded = serde.decode(event, serde.encode(event, event, record))
    assert decoded["status"] == expected
    assert decoded["version"] == 3
    assert decoded["event_id"] == outbox.payment_state_event_id("9130", "68", 3)
    assert (decoded["amount_paid"], decoded["balance"]) == ("22.20", "100.00")
    assert decoded["payments"] == [
        {"qbo_payment_id": "4", "txn_date": dt.date(2026, 11, 18), "amount": "22.20"}
    ]
    model = models.InvoicePaymentStatusChanged.model_validate(decoded)
    assert model.amount_paid == Decimal("22.20") and model.payments[0].amount == Decimal("22.2")


def test_the_paid_in_qbo_ignored_notice_fits_qbo_sync_status() -> None:
    serde = make_serde(None)
    row = _state(1, "paid", "122.22", "0", announce="paid_in_qbo_ignored")
    record = outbox.notice_record(row)
    decoded = serde.decode("qbo.sync_status", serde.encode("qbo.sync_status", "s", record))
    assert (decoded["status"], decoded["state"], decoded["reason_code"]) == (
        "SYNCED",
        "SYNCED",
        "paid_in_qbo_ignored",
    )
    assert (decoded["document_type"], decoded["document_id"], decoded["qbo_id"]) == (
        "INVOICE",
        "inv_1",
        "68",
    )
    assert "122.22 GBP" in decoded["message"] and "Stripe" in decoded["message"]
    # deterministic, and not the id the same version would have on the payment topic
    assert str(decoded["event_id"]) == outbox.notice_record(row)["event_id"]
    assert decoded["event_id"] != row["event_id"]


def test_the_notice_reason_is_documented_with_the_other_reasons() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "failures.md").read_text()
    assert f"| `{PAID_IN_QBO_IGNORED}` |" in doc
