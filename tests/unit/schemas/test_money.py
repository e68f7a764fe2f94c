"""Money on outgoing events: the currency's ISO 4217 minor units, never rounded away."""

from __future__ import annotations

from decimal import Decimal

import pytest

from schemas.money import minor_units, money_text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("360.0", "GBP", "360.00"),  # QBO's JSON 360.0, read as Decimal from its text
        ("360", "USD", "360.00"),
        ("1E+2", "EUR", "100.00"),
        ("0.1", "GBP", "0.10"),
        ("122.22", "GBP", "122.22"),
        ("360.0", "JPY", "360"),
        ("360", "jpy", "360"),
        ("1.5", "KWD", "1.500"),
        ("0", "GBP", "0.00"),
        ("12.5", "XYZ", "12.50"),  # unknown currency: 2
    ],
)
def test_amounts_are_written_with_the_minor_units(amount: str, currency: str, text: str) -> None:
    assert money_text(Decimal(amount), currency) == text


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [("1.005", "GBP", "1.005"), ("360.5", "JPY", "360.5"), ("0.0015", "USD", "0.0015")],
)
def test_digits_beyond_the_minor_units_are_kept_not_rounded(
    amount: str, currency: str, text: str
) -> None:
    assert money_text(Decimal(amount), currency) == text


def test_minor_units_of_a_few_currencies() -> None:
    assert [minor_units(c) for c in ("GBP", "USD", "JPY", "KRW", "BHD", "CLF")] == [
        2,
        2,
        0,
        0,
        3,
        4,
    ]
