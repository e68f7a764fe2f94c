"""Money's one-step path for exact decimal strings (schemas/models.py `_money`) against the
rule it shortcuts (the Before/After validators alone), value by value."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError

from schemas.models import Money, _bounded, _exact_decimal

OLD_MONEY = Annotated[Decimal, BeforeValidator(_exact_decimal), AfterValidator(_bounded)]


class _Old(BaseModel):
    x: OLD_MONEY | None = None


class _New(BaseModel):
    x: Money | None = None


@pytest.mark.parametrize(
    "value",
    [
        "-0",
        "0.000",
        "-0.00",
        "1.10",
        "00012.50",
        "123456789012.123456789012345678",
        "999999999999999999.999999999999999999",
        "999999999999999999",
        "1e5",
        " 1",
        "1.",
        "+1",
        "١٢",
        "NaN",
        5,
        -7,
        Decimal("1.50"),
        Decimal("1e18"),
        Decimal("NaN"),
        1.5,
        True,
        None,
        "9" * 19,
        "0." + "1" * 19,
        "",
    ],
)
def test_money_takes_the_same_values_and_refuses_the_same_as_before(value: Any) -> None:
    """Money's one-step path for exact strings (schemas/models.py `_money`) against the rule
    it shortcuts: the same Decimal (digits and exponent), or the same errors."""
    try:
        old = _Old(x=value).x
    except ValidationError as exc:
        with pytest.raises(ValidationError) as new:
            _New(x=value)
        assert new.value.errors(include_context=False) == exc.errors(include_context=False)
        return
    new_value = _New(x=value).x
    assert (type(new_value), str(new_value)) == (type(old), str(old))
