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


@pytest.mark.parametrize(
    "bad",
    [
        "1" * 19,  # 19 integer digits
        "-" + "9" * 19 + ".99",
        "\u0661\u0662\u0663",  # Arabic-Indic digits: a regex `\d` takes them
        "\uff11\uff12\uff13",  # fullwidth digits
        "1." + "0" * 19,  # 19 decimal places
        "9" * 400,
        Decimal("1e19"),
        10**19,
        Decimal("NaN"),
    ],
)
def test_absurd_or_non_ascii_money_is_rejected(bad: object) -> None:
    with pytest.raises(ValidationError):
        models.LineItem.model_validate({**LINE, "amount": bad})


@pytest.mark.parametrize("good", ["9" * 18, "-" + "9" * 18 + ".99", "0." + "1" * 18, "0"])
def test_money_up_to_18_integer_digits_is_accepted(good: str) -> None:
    assert models.LineItem.model_validate({**LINE, "amount": good}).amount == Decimal(good)


def test_the_refusal_names_the_bound_and_not_the_whole_value() -> None:
    with pytest.raises(ValidationError) as raised:
        models.LineItem.model_validate({**LINE, "amount": "9" * 400})
    text = str(raised.value)
    assert "18 integer digits" in text and "9" * 100 not in text


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
