"""JSON in and out with money kept as Decimal.

Reading uses `parse_float=Decimal`. Writing emits a Decimal as a JSON *number* with its exact
digits (QBO wants `"Amount": 100.10`, not `"100.10"`), which the standard encoder cannot do, so
this is a small encoder of its own. Floats are refused: money never passes through binary
floating point. `canonical=True` sorts keys and normalises decimals (1.5 == 1.50) for hashing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


# What `json.dumps(s, ensure_ascii=False)` does to a string, without its per-call set-up: every
# key and string of a payload goes through here, and a batch holds thousands.
_string = json.encoder.encode_basestring


def dumps(value: Any, *, canonical: bool = False) -> str:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        items = sorted(value.items()) if canonical else value.items()
        return (
            "{"
            + ",".join(_string(str(k)) + ":" + dumps(v, canonical=canonical) for k, v in items)
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v, canonical=canonical) for v in value) + "]"
    if isinstance(value, Decimal):
        return _decimal(value, canonical=canonical)
    if isinstance(value, float):
        raise TypeError("floats are not allowed in QBO payloads; use Decimal")
    if type(value) is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return json.dumps(value, ensure_ascii=False)


def _decimal(value: Decimal, *, canonical: bool) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot send a non-finite amount to QBO: {value}")
    # 'f' never uses exponent notation; normalize() makes 1.5 and 1.50 hash the same.
    return json.dumps(f"{value.normalize():f}") if canonical else f"{value:f}"
