"""QBO quota state shared by every process: a sliding window of grants and leased slots per
realm (store/sql/quotas.sql). A grant is one statement, `qbo_quota_grant` (migration 0015):
it locks the realm's window, decides with the database clock, takes a slot and saves the
window, in one round trip. Its window rule is the SQL twin of `qbo.quota.admit`, the rule the
QBO client states; tests hold the two to the same answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from store.db import Database

__all__ = ["Window", "admit", "ensure_realm", "grant", "release_slot"]


@dataclass(frozen=True)
class Window:
    """At most `per_second` grants in any `second_window` seconds and `per_minute` in any
    `minute_window`; `slots` held at once, each leased for `lease_seconds`."""

    per_second: int
    per_minute: int
    second_window: float
    minute_window: float
    slots: int
    lease_seconds: float

    def params(self) -> dict[str, float | int]:
        return {
            "per_second": self.per_second,
            "per_minute": self.per_minute,
            "second_window": self.second_window,
            "minute_window": self.minute_window,
            "slots": self.slots,
            "lease_seconds": self.lease_seconds,
        }


def ensure_realm(db: Database, realm_id: str, slots: int) -> None:
    """The realm's window row and slot rows (idempotent)."""
    db.execute("quota_ensure_realm", {"realm_id": realm_id, "slots": slots})


def grant(db: Database, realm_id: str, holder: str, window: Window) -> tuple[int | None, float]:
    """One try, one statement: (slot, 0) when granted; else (None, seconds to wait) or
    (None, -1) when every slot is taken (the grant is then not recorded)."""
    row = db.one("quota_grant", {"realm_id": realm_id, "holder": holder, **window.params()})
    assert row is not None  # the function always returns its one row
    return (None if row["slot"] is None else int(row["slot"])), float(row["wait"])


def admit(
    db: Database, grants: Sequence[float], now: float, window: Window
) -> tuple[float, list[float]]:
    """The store's window rule alone, on given grants and clock: (seconds to wait, grants
    kept), as `qbo.quota.admit` answers (tests compare them)."""
    row = db.one("quota_admit", {"grants": list(grants), "now": now, **window.params()})
    assert row is not None
    return float(row["wait"]), list(row["kept"])


def release_slot(db: Database, realm_id: str, slot: int, holder: str) -> None:
    db.execute("quota_release_slot", {"realm_id": realm_id, "slot": slot, "holder": holder})
