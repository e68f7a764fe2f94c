"""Money arithmetic and the JSON shape of numbers.

Rule (see docs/sandbox.md): amounts are `Decimal`; every line Amount and every tax figure is
rounded half up to 2 decimal places; tax is computed once per tax rate over the sum of the net
amounts carrying that rate (QBO's TaxLine per rate with NetAmountTaxable), never per line.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0")


class NotANumber(ValueError):
    pass


def dec(value: Any) -> Decimal:
    """Decimal from what JSON gave us; floats go through str so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None or value == "":
        raise NotANumber(repr(value))
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise NotANumber(repr(value)) from exc


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Decimal) -> int | float:
    """QBO writes zero as 0 and other amounts as decimals (`"Deposit": 0`, `"TotalAmt": 150.0`)."""
    if value == 0:
        return 0
    return float(value)


def jsonable(obj: Any) -> Any:
    """Deep copy with every Decimal turned into a JSON number."""
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Decimal):
        return number(obj)
    return obj
