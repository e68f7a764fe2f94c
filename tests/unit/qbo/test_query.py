from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from qbo.query import Query, literal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Acme", "'Acme'"),
        ('O\'Brien & Sons "UK"', "'O\\'Brien & Sons \"UK\"'"),
        ("back\\slash", "'back\\\\slash'"),
        ("it\\'s", "'it\\\\\\'s'"),
        ("%_ ; -- DROP", "'%_ ; -- DROP'"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (Decimal("10.50"), "10.50"),
        (dt.date(2025, 11, 1), "'2025-11-01'"),
        (dt.datetime(2025, 11, 1, 12, 0, tzinfo=dt.UTC), "'2025-11-01T12:00:00+00:00'"),
    ],
)
def test_literals(value, expected) -> None:
    assert literal(value) == expected


@pytest.mark.parametrize("value", [None, 1.5, Decimal("NaN"), dt.datetime(2025, 1, 1), [1]])
def test_bad_literals(value) -> None:
    with pytest.raises((TypeError, ValueError)):
        literal(value)


def test_select_with_conditions_order_and_page() -> None:
    q = (
        Query("Customer")
        .where("DisplayName", "=", 'O\'Brien & Sons "UK"')
        .where("Active", "in", [True, False])
        .order_by("MetaData.LastUpdatedTime", descending=True)
    )
    assert q.select(start=1001, max_results=1000) == (
        "SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien & Sons \"UK\"' AND "
        "Active IN (true, false) ORDERBY MetaData.LastUpdatedTime DESC STARTPOSITION 1001 "
        "MAXRESULTS 1000"
    )
    assert q.count() == (
        "SELECT COUNT(*) FROM Customer WHERE DisplayName = "
        "'O\\'Brien & Sons \"UK\"' AND Active IN (true, false)"
    )


def test_query_is_immutable() -> None:
    base = Query("Invoice")
    narrowed = base.where("DocNumber", "=", "INV-1")
    assert base.select() == "SELECT * FROM Invoice"
    assert narrowed.select() == "SELECT * FROM Invoice WHERE DocNumber = 'INV-1'"


@pytest.mark.parametrize("bad", ["Customer; DROP", "1abc", "Display Name", "a'b", ""])
def test_names_are_checked(bad) -> None:
    with pytest.raises(ValueError):
        Query(bad)
    with pytest.raises(ValueError):
        Query("Customer").where(bad, "=", "x")


def test_operators_are_checked() -> None:
    with pytest.raises(ValueError):
        Query("Customer").where("Id", "OR", "1")
    with pytest.raises(ValueError):
        Query("Customer").where("Id", "IN", "1")
    with pytest.raises(ValueError):
        Query("Customer").where("Id", "IN", [])
    with pytest.raises(ValueError):
        Query("Customer").where("Id", "=", ["1"])
    with pytest.raises(ValueError):
        Query("Customer").select(max_results=1001)


def test_round_trip_through_the_emulator_parser() -> None:
    """The emulator's tokenizer (Intuit's backslash escapes) reads back exactly the value."""
    from sandbox import query as sandbox_query

    name = 'O\'Brien & Sons "UK" \\ 100%'
    parsed = sandbox_query.parse(Query("Customer").where("DisplayName", "=", name).select())
    assert parsed.where == [("DisplayName", "=", name)]
