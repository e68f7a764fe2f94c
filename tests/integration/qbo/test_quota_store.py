"""The PostgreSQL quota state: leases that expire (crashed processes), waits, windows."""

from __future__ import annotations

import random
import threading
import time

import pytest

from qbo import errors
from qbo.quota import Limits, SharedQuota, admit
from sequence_qbo.qbo_store import PgQuotas, window
from store import quotas
from store.db import Database
from tests.helpers import wait_until

pytestmark = pytest.mark.integration


def test_a_crashed_holder_gives_its_slot_back_when_the_lease_expires(db: Database) -> None:
    limits = Limits(concurrent=2, lease_seconds=0.5, per_second=1000, per_minute=100_000)
    crashed = SharedQuota(PgQuotas(db), "realm-lease", limits)
    assert crashed._try("dead-1")[0] is not None  # taken, never released: a crash
    assert crashed._try("dead-2")[0] is not None
    assert crashed._try("alive")[0] is None  # all slots leased
    started = time.monotonic()
    with SharedQuota(PgQuotas(db), "realm-lease", limits).slot():
        waited = time.monotonic() - started
    assert 0.3 <= waited < 5.0
    # Both dead leases have expired by now and ours was released.
    assert db.one("quota_slots_in_use", {"realm_id": "realm-lease"})["in_use"] == 0


def test_slots_are_released_after_use(db: Database) -> None:
    quota = SharedQuota(PgQuotas(db), "realm-release", Limits(concurrent=1, per_second=1000))
    for _ in range(3):
        with quota.slot():
            assert db.one("quota_slots_in_use", {"realm_id": "realm-release"})["in_use"] == 1
    assert db.one("quota_slots_in_use", {"realm_id": "realm-release"})["in_use"] == 0


def test_the_rate_is_shared_between_instances(db: Database) -> None:
    limits = Limits(per_second=3, second_window=1.0, max_wait=0.2)
    a, b = (
        SharedQuota(PgQuotas(db), "realm-rate", limits),
        SharedQuota(PgQuotas(db), "realm-rate", limits),
    )
    for q in (a, b, a):
        with q.slot():
            pass
    with pytest.raises(errors.Throttled) as exc, b.slot():
        pass
    assert 0 < exc.value.retry_after <= 1.0


def test_other_realms_are_not_affected(db: Database) -> None:
    limits = Limits(per_second=1, second_window=10.0, max_wait=0.1)
    with SharedQuota(PgQuotas(db), "realm-busy", limits).slot():
        pass
    with SharedQuota(PgQuotas(db), "realm-idle", limits).slot():
        pass


def test_the_stores_window_rule_answers_as_admit(db: Database) -> None:
    """The grant's SQL rule (`qbo_quota_admit`) and `qbo.quota.admit` agree: on the edges of
    both windows and on random logs of grants, including full and over-full ones."""
    limits = Limits(per_second=10, per_minute=50, second_window=1.25, minute_window=61.0)
    rng = random.Random(12)
    cases: list[tuple[list[float], float]] = [
        ([], 100.0),
        ([100.0 + i * 0.01 for i in range(10)], 100.5),  # the second's limit reached
        ([100.0 + i * 0.01 for i in range(9)], 100.5),  # one under it
        ([float(i) for i in range(50)], 60.5),  # the minute's limit reached
        ([1.0, 2.0, 70.0], 70.5),  # old grants dropped
        ([10.0], 71.0),  # exactly a window old: no longer counts
        ([69.75 + i * 0.01 for i in range(10)], 71.0),  # the second's window edge
    ]
    for _ in range(300):
        now = rng.uniform(100.0, 200.0)
        span = rng.choice([1.5, 10.0, 70.0])
        grants = sorted(now - rng.uniform(0.0, span) for _ in range(rng.randint(0, 70)))
        cases.append((grants, now))
    for grants, now in cases:
        expected_wait, expected_kept = admit(grants, now, limits)
        wait, kept = quotas.admit(db, grants, now, window(limits))
        assert wait == pytest.approx(expected_wait, abs=1e-9), (grants, now)
        assert kept == expected_kept, (grants, now)


def test_a_grant_is_one_statement_and_a_release_another(db: Database) -> None:
    calls: list[str] = []

    class Counting:
        def execute(self, name: str, params: dict) -> int:
            calls.append(name)
            return db.execute(name, params)

        def one(self, name: str, params: dict) -> dict | None:
            calls.append(name)
            return db.one(name, params)

    quota = SharedQuota(PgQuotas(Counting()), "realm-one-statement", Limits())  # type: ignore[arg-type]
    with quota.slot():
        pass
    calls.clear()  # the first use ensures the realm's rows once
    with quota.slot():
        assert calls == ["quota_grant"]
    assert calls == ["quota_grant", "quota_release_slot"]


def test_the_clock_is_read_once_the_window_is_locked(db: Database) -> None:
    """A grant that waited for the window's lock decides with the time it got the lock: a
    request the second's limit held back when it asked may go once the lock is released."""
    limits = Limits(per_second=1, second_window=0.5, per_minute=1000, max_wait=0.01)
    quota = SharedQuota(PgQuotas(db), "realm-clock", limits)
    with quota.slot():  # the one grant of this half second
        pass
    granted_at = db.one("quota_now")["now"]
    outcome: list[tuple[int | None, float]] = []
    with db.transaction() as holder:
        holder.one("quota_lock_window", {"realm_id": "realm-clock"})
        asking = threading.Thread(target=lambda: outcome.append(quota._try("late")))
        asking.start()
        # The grant is waiting for the lock when PostgreSQL says so, not after a guessed sleep.
        wait_until(lambda: _waiting_for_a_lock(db), timeout=5.0, message="the grant to wait")
        # The second's window passes while the lock is held (by the database's clock).
        wait_until(
            lambda: db.one("quota_now")["now"] > granted_at + limits.second_window,
            timeout=5.0,
            message="the window to pass",
        )
    asking.join(5)
    [(slot, wait)] = outcome
    assert slot is not None and wait == 0


def _waiting_for_a_lock(db: Database) -> bool:
    with db.transaction() as tx:
        row = tx.conn.execute(
            "select count(*) as n from pg_stat_activity"
            " where wait_event_type = 'Lock' and datname = current_database()"
        ).fetchone()
    return bool(row["n"])
