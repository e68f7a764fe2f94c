"""Money on outgoing events: a decimal string with the currency's minor units, as Sequence writes
it ("360.00", not "360.0"; JPY "360"), whatever scale the amount arrived with (QBO answers
`360.0` or `360`, read as Decimal from the JSON text)."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["MINOR_UNITS", "minor_units", "money_text"]

# ISO 4217 minor units of the currencies that differ from the usual 2
# (https://www.iso.org/iso-4217-currency-codes.html, table A.1). Any other code: 2.
MINOR_UNITS: dict[str, int] = {
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "CLF": 4,
    "UYW": 4,
}
DEFAULT_MINOR_UNITS = 2


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), DEFAULT_MINOR_UNITS)


def money_text(amount: Decimal, currency: str) -> str:
    """`amount` with exactly the currency's minor units, or more places when it has non-zero
    digits beyond them (money is never rounded here: that would change the amount)."""
    places = Decimal(1).scaleb(-minor_units(currency))
    exact = amount.quantize(places) if amount.quantize(places) == amount else amount
    # 'f' never writes an exponent: the contracts' "exact decimal as a string" (1E+2 is not one).
    return f"{exact:f}"
