from __future__ import annotations

import pytest

from qbo import requestids


def test_make_is_deterministic_and_short() -> None:
    a = requestids.make("acc_1", "inv_1", "hash")
    assert a == requestids.make("acc_1", "inv_1", "hash")
    assert a != requestids.make("acc_1", "inv_1", "hash2")
    assert len(a) <= requestids.MAX_LENGTH_BATCH
    assert requestids.check(a) == a


def test_derive_differs_and_fits() -> None:
    base = "x" * 50
    d = requestids.derive(base, "sync3")
    assert d != base and len(d) <= 50 and d == requestids.derive(base, "sync3")


@pytest.mark.parametrize("bad", ["", "x" * 51, "has space", "a/b"])
def test_check_refuses(bad) -> None:
    with pytest.raises(ValueError):
        requestids.check(bad)


def test_batch_limit_is_36() -> None:
    requestids.check("x" * 36, batch=True)
    with pytest.raises(ValueError):
        requestids.check("x" * 37, batch=True)
