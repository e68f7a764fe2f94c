"""Which QBO tax code a document line carries: one pure function, no I/O.

The rules, one by one: docs/qbo-mapping.md#tax-codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from qbo.build_failure import BuildFailure, Reason
from schemas.models import TaxStatus

__all__ = ["TaxChoice", "TaxDefaults", "TaxSettings", "choose_tax"]

# QBO US sales tax puts these pseudo-codes on lines; they are not TaxCode ids, so they can never
# be the transaction-level `TxnTaxDetail.TxnTaxCodeRef`.
TAX = "TAX"
NON = "NON"
_PSEUDO = frozenset({TAX, NON})


@dataclass(frozen=True)
class TaxSettings:
    """The merchant's tax-code settings (QBO TaxCode ids, or TAX/NON in the US)."""

    fallback: str | None = None
    exempt: str | None = None
    reverse_charge: str | None = None


@dataclass(frozen=True)
class TaxDefaults:
    """Facts read from QBO that the rules fall back on."""

    us: bool  # US sales tax: lines carry TAX/NON, the code goes on the transaction
    company_default: str | None = None  # Preferences.TaxPrefs.TaxGroupCodeRef
    customer_default: str | None = None  # the QBO Customer.DefaultTaxCodeRef


@dataclass(frozen=True)
class TaxChoice:
    line_code: str  # SalesItemLineDetail.TaxCodeRef
    txn_code: str | None  # TxnTaxDetail.TxnTaxCodeRef (US only; None elsewhere)


def choose_tax(
    status: TaxStatus,
    line_category: str | None,
    group_category: str | None,
    mappings: Mapping[str, str],
    settings: TaxSettings,
    defaults: TaxDefaults,
) -> TaxChoice:
    """The first tax rule that applies (docs/qbo-mapping.md#tax-codes); raises
    `BuildFailure(tax_code_missing)` if none does.

    A line's own category overrides its group's (the group's is only the default for its lines).
    """
    category = line_category or group_category
    mapped = mappings.get(category) if category else None
    chain = _chain(status, mapped, settings, defaults)
    if defaults.us:
        return _us_choice(status, mapped, chain, category)
    if not chain:
        raise BuildFailure(Reason.TAX_CODE_MISSING, _missing(status, category))
    return TaxChoice(line_code=chain[0], txn_code=None)


def _chain(
    status: TaxStatus, mapped: str | None, settings: TaxSettings, defaults: TaxDefaults
) -> list[str]:
    """Candidate codes in rule order, the ones not set left out."""
    if status == TaxStatus.TAXED:
        first = [mapped, settings.fallback]
    elif status == TaxStatus.TAX_EXEMPT:
        first = [settings.exempt]
    else:
        first = [settings.reverse_charge]
    candidates = [*first, defaults.company_default, defaults.customer_default]
    return [code for code in candidates if code]


def _us_choice(
    status: TaxStatus, mapped: str | None, chain: list[str], category: str | None
) -> TaxChoice:
    """Lines say TAX or NON; the first real TaxCode id in the chain goes on the transaction.

    A line that charges no tax needs no transaction code, so NON without one is not a failure.
    """
    taxed = status == TaxStatus.TAXED and mapped != NON
    txn_code = next((code for code in chain if code not in _PSEUDO), None)
    if taxed and txn_code is None:
        raise BuildFailure(Reason.TAX_CODE_MISSING, _missing(status, category))
    return TaxChoice(line_code=TAX if taxed else NON, txn_code=txn_code)


def _missing(status: TaxStatus, category: str | None) -> str:
    taxed = status == TaxStatus.TAXED
    what = f"tax category {category!r} is not mapped and " if taxed and category else ""
    setting = {
        TaxStatus.TAXED: "fallback",
        TaxStatus.TAX_EXEMPT: "exempt",
        TaxStatus.REVERSE_CHARGED: "reverse-charge",
    }[status]
    return (
        f"no tax code for a {status} customer: {what}no {setting} tax code is set, the QBO "
        "company has no default tax code and the QBO customer has none; map the tax "
        f"category or set the {setting} tax code"
    )
