"""QBO's line arithmetic agrees with Sequence's amounts and totals to the cent (docs/amounts.md)."""

from __future__ import annotations

import random
from collections import Counter
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pytest

from qbo import amounts
from qbo.amounts import QboLine, check_totals, qbo_line, qbo_line_amount, qbo_total
from qbo.build_failure import BuildFailure, Reason

D = Decimal


@pytest.mark.parametrize(
    ("qty", "price", "amount"),
    [
        ("1234.5678", "0.0015", "1.85"),  # 1.8518517
        ("1", "2.125", "2.13"),  # a tie rounds up
        ("-1", "2.125", "-2.13"),  # ... away from zero
        ("3", "0.33333", "1.00"),  # 0.99999
        ("0", "99", "0.00"),
    ],
)
def test_qbo_line_amount_is_half_up_to_the_cent(qty: str, price: str, amount: str) -> None:
    assert qbo_line_amount(D(qty), D(price)) == D(amount)


CASES = [
    (
        "usage: fractional qty, 4-place rate, QBO agrees",
        ("1234.5678", "0.0015", "1.85"),
        QboLine(D("1234.5678"), D("0.0015"), D("1.85"), True),
    ),
    ("whole units", ("12", "49.99", "599.88"), QboLine(D(12), D("49.99"), D("599.88"), True)),
    ("negative (discount) line", ("2", "-10", "-20.00"), QboLine(D(2), D(-10), D("-20.00"), True)),
    (
        "Sequence rounded half-even: price adjusted, qty kept",
        ("1", "2.345", "2.34"),
        QboLine(D(1), D("2.34"), D("2.34"), False),
    ),
    (
        "rate with 6 places: price adjusted to 5 places",
        ("3", "0.333333", "1.00"),
        QboLine(D(3), D("0.33333"), D("1.00"), False),
    ),
    (
        "huge usage at a 7-place rate: no 5-place price fits, Qty 1",
        ("10000000", "0.0000125", "125.00"),
        QboLine(D(1), D("125.00"), D("125.00"), False),
    ),
    (
        "minimum charge on zero usage: Qty 1",
        ("0", "0.01", "5.00"),
        QboLine(D(1), D("5.00"), D("5.00"), False),
    ),
    (
        "qty with 7 places: Qty 1",
        ("1.0000001", "10", "10.00"),
        QboLine(D(1), D("10.00"), D("10.00"), False),
    ),
]


@pytest.mark.parametrize(("given", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_qbo_line_strategy(given: tuple[str, str, str], expected: QboLine) -> None:
    line = qbo_line(*(D(v) for v in given))
    assert line == expected
    assert qbo_line_amount(line.qty, line.unit_price) == line.amount == D(given[2])


@pytest.mark.parametrize("amount", ["1.005", "0.001", "NaN", "Infinity"])
def test_amount_finer_than_a_cent_is_a_failure(amount: str) -> None:
    with pytest.raises(BuildFailure) as failure:
        qbo_line(D(1), D(1), D(amount))
    assert failure.value.reason_code == Reason.AMOUNT_PRECISION


def test_trailing_zeros_are_still_cents() -> None:
    assert qbo_line(D(2), D("0.5"), D("1.000")).exact


@pytest.mark.parametrize(
    ("lines", "net", "tax", "gross"),
    [
        (["1.00", "2.00"], "3.01", "0", "3.01"),
        (["1.00", "2.00"], "3.00", "0.60", "3.59"),
    ],
)
def test_totals_mismatch(lines: list[str], net: str, tax: str, gross: str) -> None:
    with pytest.raises(BuildFailure) as failure:
        check_totals([D(x) for x in lines], D(net), D(tax), D(gross))
    assert failure.value.reason_code == Reason.TOTALS_MISMATCH


# ---- property: 1,000 random invoices, seeded ------------------------------------------------


def _decimal(rng: random.Random, maximum: int, max_places: int, min_places: int = 0) -> Decimal:
    """A random Decimal in [0, maximum] with a random number of places; built from integers."""
    places = rng.randint(min_places, max_places)
    return D(rng.randint(0, maximum * 10**places)).scaleb(-places)


def _quantity(rng: random.Random) -> Decimal:
    kind = rng.random()
    if kind < 0.3:
        return D(rng.randint(0, 500))
    if kind < 0.8:  # metered usage: up to 10M units, up to 6 decimals
        return _decimal(rng, 10_000_000, 6)
    return _decimal(rng, 10, 8, min_places=1)


def _rate(rng: random.Random) -> Decimal:
    rate = _decimal(rng, 500, 4) if rng.random() < 0.5 else _decimal(rng, 1, 9, min_places=3) / 20
    return -rate if rng.random() < 0.05 else rate


def _sequence_amount(rng: random.Random, qty: Decimal, rate: Decimal) -> Decimal:
    """Sequence's amount, as a billing platform may compute it (not always QBO's way)."""
    how = rng.choice([ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN, "minimum", "tiered"])
    if how == "minimum":
        return max((qty * rate).quantize(D("0.01")), D("5.00"))
    if how == "tiered":  # a flat fee plus usage: no rate reproduces it
        return (D("19.00") + qty * rate).quantize(D("0.01"))
    return (qty * rate).quantize(D("0.01"), rounding=how)


def _invoice(
    rng: random.Random,
) -> tuple[list[tuple[Decimal, Decimal, Decimal]], Decimal, Decimal, Decimal]:
    lines = []
    for _ in range(rng.randint(1, 30)):
        qty, rate = _quantity(rng), _rate(rng)
        lines.append((qty, rate, _sequence_amount(rng, qty, rate)))
    net = sum((a for _, _, a in lines), D(0))
    tax = (net * D(rng.choice(["0", "0.05", "0.2", "0.0825"]))).quantize(D("0.01"))
    return lines, net, tax, net + tax


def test_qbo_computes_sequence_net_and_gross_totals_for_1000_random_invoices() -> None:
    rng = random.Random(20261125)
    strategies: Counter[str] = Counter()
    for _ in range(1000):
        lines, net, tax, gross = _invoice(rng)
        check_totals((a for _, _, a in lines), net, tax, gross)
        qbo = [qbo_line(q, r, a) for q, r, a in lines]
        for (q, r, a), line in zip(lines, qbo, strict=True):
            assert qbo_line_amount(line.qty, line.unit_price) == line.amount == a, (q, r, a, line)
            assert line.qty == round(line.qty, amounts.QTY_PLACES)
            assert line.unit_price == round(line.unit_price, amounts.PRICE_PLACES)
            assert not line.exact or (line.qty, line.unit_price) == (q, r)
            strategies[_strategy(q, line)] += 1
        computed = [qbo_line_amount(line.qty, line.unit_price) for line in qbo]
        assert qbo_total(computed, D(0)) - net == D("0.00")
        assert qbo_total(computed, tax) - gross == D("0.00")
    assert min(strategies[s] for s in ("exact", "adjusted price", "qty 1")) > 100, strategies


def _strategy(qty: Decimal, line: QboLine) -> str:
    if line.exact:
        return "exact"
    return "adjusted price" if line.qty == qty and qty != 1 else "qty 1"
