"""Key-path comparison of an emulator answer with a recorded QBO object's fixture.

A fixture (tests/sandbox/fixtures/<entity>.json) lists the key paths a recorded QBO answer
has for a create like ours, each with its JSON type, plus the values the sources agree on.
`problems()` lists every path that is missing, of the wrong type or of the wrong value;
fields the emulator adds beyond the fixture are not problems.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
_MISSING = object()
_STEP = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# QBO's MetaData: whole seconds and an offset, e.g. 2015-07-24T10:35:08-07:00.
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


CHECKS = {
    "string": lambda v: isinstance(v, str),
    "id": lambda v: isinstance(v, str) and v.isdigit(),
    "number": _number,
    "bool": lambda v: isinstance(v, bool),
    "date": lambda v: isinstance(v, str) and bool(_DATE.match(v)),
    "datetime": lambda v: isinstance(v, str) and bool(_DATETIME.match(v)),
    "object": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def lookup(obj: Any, path: str) -> Any:
    """The value at `a.b[0].c` (negative indexes count from the end), or _MISSING."""
    node = obj
    for key, index in _STEP.findall(path):
        if key:
            if not isinstance(node, dict) or key not in node:
                return _MISSING
            node = node[key]
        else:
            i = int(index)
            if not isinstance(node, list) or not -len(node) <= i < len(node):
                return _MISSING
            node = node[i]
    return node


def _same(expected: Any, actual: Any) -> bool:
    # JSON numbers: 0 and 0.0, 150 and 150.0 are the same amount.
    if _number(expected) and _number(actual):
        return float(expected) == float(actual)
    return type(expected) is type(actual) and expected == actual


def problems(fixture: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    found = []
    for path, kind in fixture["paths"].items():
        value = lookup(obj, path)
        if value is _MISSING:
            found.append(f"{path}: missing")
        elif not CHECKS[kind](value):
            found.append(f"{path}: {type(value).__name__} {value!r} is not {kind}")
    for path, expected in fixture.get("values", {}).items():
        value = lookup(obj, path)
        if value is _MISSING:
            if path not in fixture["paths"]:
                found.append(f"{path}: missing")
        elif not _same(expected, value):
            found.append(f"{path}: {value!r} != {expected!r}")
    for ref in fixture.get("no_name", []):
        if "name" in (obj.get(ref) or {}):
            found.append(f"{ref}.name: present, QBO leaves it out")
    return found
