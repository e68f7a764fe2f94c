"""Line amounts QBO will agree with, in Decimal only (the rule is written up in docs/amounts.md).

QBO recomputes each line as Amount = round_half_up(Qty * UnitPrice, 2) and rejects a supplied
Amount that differs ("Amount is not equal to UnitPrice * Qty", 6070). Half-up (ties away from
zero) is our documented assumption; `qbo_line_amount` is the one place that says so, and the
emulator mirrors it. Sequence's line amount is the truth: we pick the Qty/UnitPrice to send so
that QBO lands on exactly that amount, and its totals on Sequence's totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from qbo.build_failure import BuildFailure, Reason

__all__ = [
    "PRICE_PLACES",
    "QTY_PLACES",
    "QboLine",
    "check_totals",
    "qbo_line",
    "qbo_line_amount",
    "qbo_total",
    "round_half_up",
]

CENT = Decimal("0.01")
ONE = Decimal(1)
# Decimal places we trust QBO to store for UnitPrice and Qty without rounding them. QBO's true
# limit is UNCONFIRMED; 5 is what its UI accepts for a rate, so anything within it is safe.
PRICE_PLACES = 5
QTY_PLACES = 5


@dataclass(frozen=True)
class QboLine:
    """What goes into SalesItemLineDetail (Qty, UnitPrice) and the line's Amount."""

    qty: Decimal
    unit_price: Decimal
    amount: Decimal
    exact: bool  # False: Qty/UnitPrice are not Sequence's own, so the description must say them


# quantize() exponents by places, built once: round_half_up runs several times per line.
_QUANTUM = {places: Decimal(1).scaleb(-places) for places in range(19)}


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    quantum = _QUANTUM.get(places) or Decimal(1).scaleb(-places)
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def qbo_line_amount(qty: Decimal, unit_price: Decimal) -> Decimal:
    """How QBO computes a line Amount: round_half_up(Qty * UnitPrice, 2). Mirror this, only this."""
    return round_half_up(qty * unit_price, 2)


def qbo_total(line_amounts: Iterable[Decimal], tax: Decimal) -> Decimal:
    """How QBO computes TotalAmt: the sum of the (already rounded) line Amounts plus the tax."""
    return sum(line_amounts, Decimal(0)) + tax


def qbo_line(quantity: Decimal, rate: Decimal, amount: Decimal) -> QboLine:
    """Qty/UnitPrice for which QBO computes exactly `amount`, the first strategy that works:

    1. Sequence's quantity and rate, when QBO stores them as they are and agrees on the amount;
    2. Sequence's quantity with UnitPrice = amount / quantity rounded to PRICE_PLACES, when QBO
       then agrees (Sequence rounded differently, or the rate has too many decimals);
    3. Qty 1 and UnitPrice = amount, which QBO always agrees with.
    """
    _require_cents(amount)
    stored_as_is = _fits(quantity, QTY_PLACES) and _fits(rate, PRICE_PLACES)
    if stored_as_is and qbo_line_amount(quantity, rate) == amount:
        return QboLine(quantity, rate, amount, exact=True)
    adjusted = _adjusted_price(quantity, amount)
    if adjusted is not None:
        return QboLine(quantity, adjusted, amount, exact=False)
    return QboLine(ONE, amount, amount, exact=False)


def check_totals(
    line_amounts: Iterable[Decimal], net_total: Decimal, total_tax: Decimal, gross_total: Decimal
) -> None:
    """Sequence's totals must be what QBO will compute from the lines, or the books disagree."""
    net = qbo_total(line_amounts, Decimal(0))
    if net != net_total:
        raise BuildFailure(
            Reason.TOTALS_MISMATCH,
            f"the line amounts add up to {net} but the "
            f"document's net total is {net_total}; QBO would show {net}",
        )
    if net_total + total_tax != gross_total:
        raise BuildFailure(
            Reason.TOTALS_MISMATCH,
            f"net total {net_total} + tax {total_tax} "
            f"is not the document's gross total {gross_total}",
        )


def _adjusted_price(quantity: Decimal, amount: Decimal) -> Decimal | None:
    if quantity == 0 or not _fits(quantity, QTY_PLACES):
        return None
    price = round_half_up(amount / quantity, PRICE_PLACES).normalize()
    return price if qbo_line_amount(quantity, price) == amount else None


def _fits(value: Decimal, places: int) -> bool:
    return value == round_half_up(value, places)


def _require_cents(amount: Decimal) -> None:
    # QBO keeps 2 decimal places on a line Amount; anything finer would be silently rounded.
    if not amount.is_finite() or amount != round_half_up(amount, 2):
        raise BuildFailure(
            Reason.AMOUNT_PRECISION,
            f"line amount {amount} has more than 2 "
            "decimal places; QBO stores line amounts to the cent",
        )
