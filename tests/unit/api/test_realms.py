from __future__ import annotations

import pytest

from api import realms
from api.errors import LookupUnavailable


class Counting:
    def __init__(self, accounts: dict[str, str]) -> None:
        self.accounts, self.calls, self.down = accounts, 0, False

    def __call__(self, realm_id: str) -> str | None:
        self.calls += 1
        if self.down:
            raise LookupUnavailable("down (fake)")
        return self.accounts.get(realm_id)


def test_answers_are_reused_within_the_ttl_and_refreshed_after() -> None:
    now = [0.0]
    source = Counting({"r1": "a1"})
    lookup = realms.cached(source, ttl=5, clock=lambda: now[0])
    assert [lookup("r1"), lookup("r1"), lookup("r2"), lookup("r2")] == ["a1", "a1", None, None]
    assert source.calls == 2  # "nobody" is an answer too
    source.accounts["r2"] = "a2"
    now[0] = 5.0
    assert lookup("r2") == "a2"
    assert source.calls == 3


def test_errors_are_not_cached() -> None:
    source = Counting({"r1": "a1"})
    lookup = realms.cached(source, ttl=5, clock=lambda: 0.0)
    source.down = True
    with pytest.raises(LookupUnavailable):
        lookup("r1")
    source.down = False
    assert lookup("r1") == "a1"


def test_from_mapping() -> None:
    assert realms.from_mapping({"r": "a"})("r") == "a"
    assert realms.from_mapping({"r": "a"})("x") is None
