"""The PostgreSQL quota state: leases that expire (crashed processes), waits, windows."""

from __future__ import annotations

import time

import pytest

from qbo import errors
from qbo.quota import Limits, SharedQuota
from sequence_qbo.qbo_store import PgQuotas
from store.db import Database

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
