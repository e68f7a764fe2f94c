"""A small builder for QBO's query language; values are always escaped, never concatenated.

Syntax (developer.intuit.com, "data queries"):
    SELECT * | COUNT(*) FROM Entity [WHERE a = 'x' AND b IN ('y','z')] [ORDERBY f [DESC]]
    [STARTPOSITION n] [MAXRESULTS m]
Quirks: only AND (no OR, no parentheses); STARTPOSITION is 1-based; at most 1000 rows per
page. String literals are single-quoted and "an apostrophe must be escaped with a backslash"
(Intuit's query docs; python-quickbooks' `build_where_clause` does `replace("'", "\\'")`), so a
backslash is escaped first. LIKE takes `%` as its only wildcard, with no way to escape a literal
`%`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from decimal import Decimal

__all__ = ["MAX_PAGE", "Query", "literal"]

MAX_PAGE = 1000
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_OPERATORS = frozenset({"=", "<", ">", "<=", ">=", "!=", "IN", "LIKE"})

Value = str | int | Decimal | bool | dt.date | dt.datetime


def literal(value: Value) -> str:
    """One value as a QBO query literal: `O'Brien & Sons "UK"` → `'O\\'Brien & Sons "UK"'`."""
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime in a QBO query needs a timezone")
        return _quote(value.isoformat())
    if isinstance(value, dt.date):
        return _quote(value.isoformat())
    if isinstance(value, str):
        return _quote(value)
    raise TypeError(f"cannot use {type(value).__name__} in a QBO query")


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a QBO entity or field name: {name!r}")
    return name


@dataclass(frozen=True)
class Query:
    """An immutable query; each method returns a new one.

    >>> Query("Customer").where("DisplayName", "=", "O'Brien").select()
    "SELECT * FROM Customer WHERE DisplayName = 'O\\\\'Brien'"
    """

    entity: str
    conditions: tuple[str, ...] = ()
    order: str | None = None

    def __post_init__(self) -> None:
        _name(self.entity)

    def where(self, field: str, op: str, value: Value | list[Value] | tuple[Value, ...]) -> Query:
        op = op.upper()
        if op not in _OPERATORS:
            raise ValueError(f"unsupported query operator {op!r}")
        if op == "IN":
            if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
                raise ValueError("IN needs a non-empty list of values")
            rhs = "(" + ", ".join(literal(v) for v in value) + ")"
        elif isinstance(value, list | tuple):
            raise ValueError(f"{op} takes one value, not a list")
        else:
            rhs = literal(value)
        return replace(self, conditions=(*self.conditions, f"{_name(field)} {op} {rhs}"))

    def order_by(self, field: str, *, descending: bool = False) -> Query:
        return replace(self, order=_name(field) + (" DESC" if descending else ""))

    def _tail(self) -> str:
        return " WHERE " + " AND ".join(self.conditions) if self.conditions else ""

    def select(self, *, start: int | None = None, max_results: int | None = None) -> str:
        # Not SQL: QBO's query language; names are checked and values escaped by `literal`.
        text = f"SELECT * FROM {self.entity}{self._tail()}"  # noqa: S608
        if self.order:
            text += f" ORDERBY {self.order}"
        if start is not None:
            text += f" STARTPOSITION {int(start)}"
        if max_results is not None:
            if not 1 <= max_results <= MAX_PAGE:
                raise ValueError(f"MAXRESULTS must be 1..{MAX_PAGE}")
            text += f" MAXRESULTS {int(max_results)}"
        return text

    def count(self) -> str:
        return f"SELECT COUNT(*) FROM {self.entity}{self._tail()}"  # noqa: S608
