"""Run a parsed query over a realm's objects."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any

from sandbox import clock
from sandbox.query import Query, _as_number

# Name lists answer with active objects only unless the query mentions Active.
ACTIVE_BY_DEFAULT = {"Customer", "Item", "Account", "TaxCode"}
SCALAR_KEYS = ("value", "Address", "FreeFormNumber", "URI")


def field_value(obj: dict[str, Any], path: str) -> Any:
    """Dotted, case-insensitive lookup; a reference compares by its `value`."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        if part in current:
            current = current[part]
            continue
        folded = part.casefold()
        current = next((v for k, v in current.items() if k.casefold() == folded), None)
    if isinstance(current, dict):
        # A reference compares by its value, an email/phone/web address by its text:
        # `WHERE PrimaryEmailAddr = 'ap@acme.com'` matches {"Address": "ap@acme.com"}.
        for key in SCALAR_KEYS:
            if key in current:
                return current[key]
    return current


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    ln, rn = _as_number(left), _as_number(right)
    if ln is not None and rn is not None:
        return ln, rn
    if isinstance(left, str) and isinstance(right, str):
        stamp = _stamps(left, right)
        return stamp or (left.casefold(), right.casefold())
    return None


def _stamps(left: str, right: str) -> tuple[datetime, datetime] | None:
    if "T" not in left or "T" not in right:
        return None
    try:
        return clock.parse_time(left), clock.parse_time(right)
    except ValueError:
        return None


def _matches(obj: dict[str, Any], name: str, op: str, expected: Any) -> bool:
    actual = field_value(obj, name)
    if actual is None:
        return False
    if op == "IN":
        return any(_matches(obj, name, "=", v) for v in expected)
    if op == "LIKE":
        pattern = "".join(".*" if ch == "%" else re.escape(ch) for ch in expected)
        return re.fullmatch(pattern, str(actual), re.IGNORECASE | re.DOTALL) is not None
    pair = _comparable(actual, expected)
    if pair is None:
        return False
    a, b = pair
    return {
        "=": a == b,
        "!=": a != b,
        "<>": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }[op]


def _sort_key(value: Any) -> tuple[int, Any]:
    number = _as_number(value)
    if number is not None:
        return (0, number)
    return (1, str(value).casefold()) if value is not None else (2, "")


def _field_key(name: str, obj: dict[str, Any]) -> tuple[int, Any]:
    return _sort_key(field_value(obj, name))


def select(query: Query, entity: str, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    where = list(query.where)
    if entity in ACTIVE_BY_DEFAULT and not any(n.casefold() == "active" for n, _, _ in where):
        where.append(("Active", "=", True))
    rows = [o for o in objects if all(_matches(o, n, op, v) for n, op, v in where)]
    rows.sort(key=lambda o: _sort_key(o.get("Id")))
    for name, desc in reversed(query.order):
        rows.sort(key=functools.partial(_field_key, name), reverse=desc)
    return rows


def project(obj: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if fields is None:
        return obj
    picked = {f: obj[f] for f in fields if f in obj}
    return {"Id": obj["Id"], **picked, "domain": "QBO", "sparse": True}


def page(query: Query, entity: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The QueryResponse block: {} when empty, else the list, startPosition and maxResults."""
    if query.count:
        return {"totalCount": len(rows)}
    chunk = rows[query.start - 1 : query.start - 1 + query.limit]
    if not chunk:
        return {}
    return {
        entity: [project(o, query.fields) for o in chunk],
        "startPosition": query.start,
        "maxResults": len(chunk),
    }
