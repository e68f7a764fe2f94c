from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from schemas import models

LINE = {"id": "l1", "title": "Usage", "quantity": "1234.5678", "rate": "0.0015", "amount": "1.85"}


def test_money_is_an_exact_decimal() -> None:
    line = models.LineItem.model_validate(LINE)
    assert line.quantity == Decimal("1234.5678")
    assert isinstance(line.rate, Decimal) and str(line.rate) == "0.0015"


@pytest.mark.parametrize("bad", ["1e3", "NaN", "1,5", " 1.5", "", "Infinity", 1.5])
def test_malformed_or_float_money_is_rejected(bad) -> None:
    with pytest.raises(ValidationError):
        models.LineItem.model_validate({**LINE, "amount": bad})


def test_country_must_be_alpha_2() -> None:
    address = {"line1": "1 St", "town": "Leeds", "postcode": "LS1", "country": "GBR"}
    with pytest.raises(ValidationError, match="country"):
        models.Address.model_validate(address)


def test_invoice_dates_are_dates() -> None:
    customer = {
        "id": "c",
        "legal_name": "A",
        "email": "a@b",
        "tax_status": "TAXED",
        "address": {"line1": "1", "town": "t", "postcode": "p", "country": "GB"},
    }
    invoice = models.Invoice.model_validate(
        {
            "id": "i",
            "status": "FINAL",
            "payment_status": "UNPAID",
            "currency": "GBP",
            "invoice_date": dt.date(2026, 11, 1),
            "customer_id": "c",
            "customer": customer,
            "line_item_groups": [],
            "net_total": "0",
            "total_tax": "0",
            "gross_total": "0",
        }
    )
    assert invoice.invoice_date == dt.date(2026, 11, 1)
    assert invoice.status is models.DocumentStatus.FINAL
