"""docs/qbo-mapping.md#tax-codes, one row per rule: which tax code a line gets."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from qbo.build_failure import BuildFailure, Reason
from qbo.tax import TaxChoice, TaxDefaults, TaxSettings, choose_tax
from schemas.models import TaxStatus

TAXED, EXEMPT, REVERSE = TaxStatus.TAXED, TaxStatus.TAX_EXEMPT, TaxStatus.REVERSE_CHARGED
ALL = TaxSettings(fallback="FB", exempt="EX", reverse_charge="RC")
MAPPINGS = {"cat_std": "20", "cat_zero": "ZR", "cat_non": "NON", "cat_tax": "TAX"}


@dataclass(frozen=True)
class Row:
    status: TaxStatus
    line: str | None = None
    group: str | None = None
    settings: TaxSettings = ALL
    company: str | None = "CO"
    customer: str | None = "CU"
    mappings: dict[str, str] = field(default_factory=lambda: MAPPINGS)


NON_US = [
    # Customer TAXED
    ("taxed 1: line category mapped", Row(TAXED, line="cat_std"), "20"),
    ("taxed 1: group category mapped", Row(TAXED, group="cat_zero"), "ZR"),
    ("taxed 1: line category overrides group's", Row(TAXED, "cat_std", "cat_zero"), "20"),
    ("taxed 2: unmapped category -> fallback", Row(TAXED, line="cat_unknown"), "FB"),
    ("taxed 2: no category -> fallback", Row(TAXED), "FB"),
    ("taxed 3: no fallback -> company default", Row(TAXED, settings=TaxSettings()), "CO"),
    (
        "taxed 4: no company default -> customer default",
        Row(TAXED, settings=TaxSettings(), company=None),
        "CU",
    ),
    # Customer TAX_EXEMPT
    ("exempt 1: exempt code", Row(EXEMPT, line="cat_std"), "EX"),
    (
        "exempt 2: no exempt code -> company default",
        Row(EXEMPT, settings=TaxSettings(fallback="FB", reverse_charge="RC")),
        "CO",
    ),
    ("exempt 3: -> customer default", Row(EXEMPT, settings=TaxSettings(), company=None), "CU"),
    # Customer REVERSE_CHARGED
    ("reverse 1: reverse-charge code", Row(REVERSE, group="cat_std"), "RC"),
    (
        "reverse 2: no reverse-charge code -> company default",
        Row(REVERSE, settings=TaxSettings(fallback="FB", exempt="EX")),
        "CO",
    ),
    ("reverse 3: -> customer default", Row(REVERSE, settings=TaxSettings(), company=None), "CU"),
]


def _choose(row: Row, *, us: bool) -> TaxChoice:
    defaults = TaxDefaults(us=us, company_default=row.company, customer_default=row.customer)
    return choose_tax(row.status, row.line, row.group, row.mappings, row.settings, defaults)


@pytest.mark.parametrize(("row", "code"), [r[1:] for r in NON_US], ids=[r[0] for r in NON_US])
def test_non_us_lines_carry_the_chosen_tax_code(row: Row, code: str) -> None:
    assert _choose(row, us=False) == TaxChoice(line_code=code, txn_code=None)


US = [
    ("taxed: line TAX, mapped code on the transaction", Row(TAXED, line="cat_std"), "TAX", "20"),
    ("taxed: fallback on the transaction", Row(TAXED), "TAX", "FB"),
    ("taxed: company default", Row(TAXED, settings=TaxSettings()), "TAX", "CO"),
    ("taxed: customer default", Row(TAXED, settings=TaxSettings(), company=None), "TAX", "CU"),
    ("taxed: category mapped to NON stays NON", Row(TAXED, line="cat_non"), "NON", "FB"),
    ("taxed: category mapped to TAX, chain goes on", Row(TAXED, line="cat_tax"), "TAX", "FB"),
    ("exempt: NON, exempt code on the transaction", Row(EXEMPT, line="cat_std"), "NON", "EX"),
    ("reverse: NON, reverse code on the transaction", Row(REVERSE), "NON", "RC"),
    ("exempt: NON, company default", Row(EXEMPT, settings=TaxSettings()), "NON", "CO"),
    (
        "exempt: pseudo-code setting is not a transaction code",
        Row(EXEMPT, settings=TaxSettings(exempt="NON"), company=None),
        "NON",
        "CU",
    ),
    (
        "exempt: nothing set -> NON without a transaction code (no tax to compute)",
        Row(EXEMPT, settings=TaxSettings(), company=None, customer=None),
        "NON",
        None,
    ),
]


@pytest.mark.parametrize(("row", "line", "txn"), [r[1:] for r in US], ids=[r[0] for r in US])
def test_us_lines_say_tax_or_non_and_the_chain_picks_the_transaction_code(
    row: Row, line: str, txn: str | None
) -> None:
    assert _choose(row, us=True) == TaxChoice(line_code=line, txn_code=txn)


NOTHING = TaxSettings()
MISSING = [
    (
        "non-US taxed",
        Row(TAXED, line="cat_unknown", settings=NOTHING, company=None, customer=None),
        False,
    ),
    ("non-US exempt", Row(EXEMPT, settings=NOTHING, company=None, customer=None), False),
    ("non-US reverse", Row(REVERSE, settings=NOTHING, company=None, customer=None), False),
    ("US taxed", Row(TAXED, settings=NOTHING, company=None, customer=None), True),
    (
        "US taxed, only pseudo-codes",
        Row(
            TAXED, line="cat_tax", settings=TaxSettings(fallback="TAX"), company=None, customer=None
        ),
        True,
    ),
]


@pytest.mark.parametrize(("row", "us"), [r[1:] for r in MISSING], ids=[r[0] for r in MISSING])
def test_nothing_applies_is_tax_code_missing(row: Row, us: bool) -> None:
    with pytest.raises(BuildFailure) as failure:
        _choose(row, us=us)
    assert failure.value.reason_code == Reason.TAX_CODE_MISSING == "tax_code_missing"
    assert row.status in failure.value.message


def test_missing_message_names_the_unmapped_category() -> None:
    row = Row(TAXED, line="cat_unknown", settings=NOTHING, company=None, customer=None)
    with pytest.raises(BuildFailure, match="'cat_unknown' is not mapped"):
        _choose(row, us=False)
