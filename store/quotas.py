"""QBO quota state shared by every process: a sliding window of grants and leased slots per
realm (store/sql/quotas.sql). What a grant is worth is decided by the caller (`decide`): the
rule lives with the QBO client (`qbo.quota.admit`), the rows here."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from store.db import Database

__all__ = ["Decide", "ensure_realm", "grant", "release_slot"]

# (past grant times, now) → (seconds to wait, 0 to go now; the grant times to keep)
Decide = Callable[[Sequence[float], float], tuple[float, list[float]]]


def ensure_realm(db: Database, realm_id: str, slots: int) -> None:
    """The realm's window row and slot rows (idempotent)."""
    db.execute("quota_ensure_realm", {"realm_id": realm_id, "slots": slots})


def grant(
    db: Database,
    realm_id: str,
    holder: str,
    *,
    slots: int,
    lease_seconds: float,
    decide: Decide,
) -> tuple[int | None, float]:
    """One try, in one short transaction holding the realm's window row: (slot, 0) when
    granted; else (None, seconds to wait) or (None, -1) when every slot is taken."""
    params = {
        "realm_id": realm_id,
        "slots": slots,
        "holder": holder,
        "lease_seconds": lease_seconds,
    }
    with db.transaction() as tx:
        row = tx.one("quota_lock_window", params)
        assert row is not None  # created by ensure_realm
        # The clock is read once the lock is held, not while waiting for it.
        now = tx.one("quota_now")
        assert now is not None
        wait, kept = decide(row["grants"], now["now"])
        if wait:
            return None, wait
        taken = tx.one("quota_take_slot", params)
        if taken is None:
            return None, -1.0
        tx.execute("quota_save_window", {**params, "grants": kept})
        return int(taken["slot"]), 0.0


def release_slot(db: Database, realm_id: str, slot: int, holder: str) -> None:
    db.execute("quota_release_slot", {"realm_id": realm_id, "slot": slot, "holder": holder})
