from __future__ import annotations

import json
from decimal import Decimal

import pytest

from qbo import _json


def test_decimals_stay_exact_both_ways() -> None:
    body = {
        "Amount": Decimal("100.10"),
        "Qty": Decimal("3"),
        "Rate": Decimal("1.234567890123456789"),
        "Name": "x",
        "n": 1,
    }
    text = _json.dumps(body)
    assert text == ('{"Amount":100.10,"Qty":3,"Rate":1.234567890123456789,"Name":"x","n":1}')
    assert _json.loads(text) == body
    assert isinstance(_json.loads('{"a": 0.1}')["a"], Decimal)


def test_non_finite_is_refused() -> None:
    with pytest.raises(ValueError):
        _json.dumps({"Amount": Decimal("Infinity")})


def test_strings_that_look_like_markers_are_untouched() -> None:
    assert _json.loads(_json.dumps({"a": "abc0", "b": Decimal("1")})) == {
        "a": "abc0",
        "b": Decimal("1"),
    }


def test_everything_but_decimals_is_written_as_the_standard_encoder_writes_it() -> None:
    tricky = 'quote " backslash \\ newline \n nul \x00 \x1f separator \u2028 é 東京'
    body = {
        "s": tricky,
        tricky: [0, 1, -7, 10**30, True, False, None, "", [], {}],
        "nested": {"list": [{"a": 1}, ("t", 2)], "flag": False},
    }
    assert _json.dumps(body) == json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    assert _json.dumps(body, canonical=True) == json.dumps(
        body, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    assert _json.dumps([0, 1, True, False]) == "[0,1,true,false]"  # 1 is not True here
