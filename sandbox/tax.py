"""Sales tax and VAT.

Rule: tax is computed per tax rate over the sum of the amounts that carry it, rounded half up to
2 dp (one TaxLine per rate with NetAmountTaxable), not line by line. US companies: lines say
TAX/NON and `TxnTaxDetail.TxnTaxCodeRef` names the rates. Elsewhere each line names a TaxCode.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import faults, money, refs
from sandbox.realm import Realm

PSEUDO_CODES = ("TAX", "NON")


def _rates(realm: Realm, code: dict[str, Any]) -> list[dict[str, Any]]:
    details = code.get("SalesTaxRateList", {}).get("TaxRateDetail", [])
    return [realm.require("TaxRate", d["TaxRateRef"]["value"]) for d in details]


def _tax_line(rate: dict[str, Any], base: Decimal, amount: Decimal) -> dict[str, Any]:
    return {
        "Amount": amount,
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": {"value": rate["Id"]},
            "PercentBased": True,
            "TaxPercent": rate["RateValue"],
            "NetAmountTaxable": base,
        },
    }


def _charged(rate: dict[str, Any]) -> Decimal:
    # Reverse charge: the buyer self-accounts, so the seller's document carries no VAT.
    return money.ZERO if rate.get("SpecialTaxType") == "REVERSE_CHARGE" else rate["RateValue"]


def us_tax(
    realm: Realm, txn: dict[str, Any], lines: list[dict[str, Any]], taxable_customer: bool
) -> dict[str, Any]:
    """US: the transaction tax code's rates apply to the sum of TAX lines."""
    base = sum((ln["Amount"] for ln in lines if _line_code(ln) == "TAX"), money.ZERO)
    code_id = refs.value(txn.get("TxnTaxDetail") or {}, "TxnTaxCodeRef")
    if code_id is None and base and taxable_customer:
        # AST stand-in: the company default (Preferences.TaxPrefs.TaxGroupCodeRef).
        code_id = refs.value(realm.preferences["TaxPrefs"], "TaxGroupCodeRef")
    if code_id is None:
        return {"TotalTax": money.ZERO}
    if code_id in PSEUDO_CODES:
        raise faults.not_found("TaxCode", code_id, "TxnTaxCodeRef")
    code = refs.resolve(realm, "TaxCode", code_id, "TxnTaxCodeRef")
    base = base if taxable_customer else money.ZERO
    tax_lines = [
        _tax_line(r, base, money.round2(base * _charged(r) / 100)) for r in _rates(realm, code)
    ]
    total = sum((t["Amount"] for t in tax_lines), money.ZERO)
    explicit = (txn.get("TxnTaxDetail") or {}).get("TotalTax")
    if explicit is not None and tax_lines:
        # "An explicit tax amount sent by you is honoured and prorated across the rates"
        # (docs/qbo-behaviours.md#tax, US): the last rate takes the rounding remainder.
        _prorate(tax_lines, money.round2(Decimal(str(explicit))), total)
        total = money.round2(Decimal(str(explicit)))
    return {"TxnTaxCodeRef": {"value": code_id}, "TotalTax": total, "TaxLine": tax_lines}


def _prorate(tax_lines: list[dict[str, Any]], wanted: Decimal, computed: Decimal) -> None:
    left = wanted
    for line in tax_lines[:-1]:
        share = money.round2(wanted * line["Amount"] / computed) if computed else money.ZERO
        line["Amount"], left = share, left - share
    tax_lines[-1]["Amount"] = left


def _line_code(line: dict[str, Any]) -> str | None:
    return refs.value(line.get("SalesItemLineDetail") or {}, "TaxCodeRef")


def check_us_line_code(line: dict[str, Any]) -> None:
    code = _line_code(line)
    if code is not None and code not in PSEUDO_CODES:
        raise faults.not_found("TaxCode", code, "TaxCodeRef")


def vat(realm: Realm, mode: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Non-US: every line carries a TaxCode Id; group the amounts per rate, then round."""
    if mode == "NotApplicable":
        return {"TotalTax": money.ZERO}
    groups: dict[str, tuple[dict[str, Any], Decimal, Decimal]] = {}
    for line in lines:
        code = _vat_code(realm, line)
        rates = _rates(realm, code)
        total_rate = sum((_charged(r) for r in rates), money.ZERO)
        for rate in rates:
            _, base, divisor = groups.get(rate["Id"], (rate, money.ZERO, total_rate))
            groups[rate["Id"]] = (rate, base + line["Amount"], divisor)
    tax_lines = [_vat_line(rate, base, divisor, mode) for rate, base, divisor in groups.values()]
    total = sum((t["Amount"] for t in tax_lines), money.ZERO)
    return {"TotalTax": total, "TaxLine": tax_lines}


def _vat_line(rate: dict[str, Any], base: Decimal, divisor: Decimal, mode: str) -> dict[str, Any]:
    charged = _charged(rate)
    if mode == "TaxInclusive":
        # Amounts include tax: tax = gross * r / (100 + R), R the code's total charged rate.
        tax = money.round2(base * charged / (100 + divisor))
        return _tax_line(rate, base - tax, tax)
    return _tax_line(rate, base, money.round2(base * charged / 100))


def _vat_code(realm: Realm, line: dict[str, Any]) -> dict[str, Any]:
    code_id = _line_code(line)
    if code_id is None:
        raise faults.business(
            "Make sure all your transactions have a VAT rate before you save.", "TaxCodeRef"
        )
    if code_id in PSEUDO_CODES:
        # TAX/NON exist only in US companies.
        raise faults.not_found("TaxCode", code_id, "TaxCodeRef")
    return refs.resolve(realm, "TaxCode", code_id, "TaxCodeRef")
