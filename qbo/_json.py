"""JSON in and out with money kept as Decimal.

Reading uses `parse_float=Decimal`. Writing must emit a Decimal as a JSON *number* with its
exact digits; the standard encoder can only turn it into a string (QBO wants `"Amount": 100.10`,
not `"100.10"`), so each Decimal becomes a unique placeholder string that is then unquoted.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    marker = secrets.token_hex(6)
    numbers: list[str] = []

    def encode(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            if not obj.is_finite():
                raise ValueError(f"cannot send a non-finite amount to QBO: {obj}")
            numbers.append(format(obj, "f"))
            return f"{marker}{len(numbers) - 1}"
        raise TypeError(f"{type(obj).__name__} is not JSON serializable")

    text = json.dumps(value, default=encode, separators=(",", ":"), ensure_ascii=False)
    if not numbers:
        return text
    return re.sub(f'"{marker}(\\d+)"', lambda m: numbers[int(m.group(1))], text)
