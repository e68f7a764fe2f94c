"""Every psycopg error leaves the store as one of its own, split by what the caller can do."""

from __future__ import annotations

import psycopg
import pytest

from store.db import (
    Database,
    StoreBug,
    StoreConflict,
    StoreRejected,
    StoreSchemaMissing,
    StoreUnavailable,
)

pytestmark = pytest.mark.integration

_REALM = {"realm_id": "9130", "slots": 2}


def test_an_unreachable_database_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match="cannot connect"):
        Database("postgresql://nobody@127.0.0.1:1/none", max_size=1).open(wait_seconds=1)


def test_a_lock_not_available_is_a_conflict_raised_inside_the_transaction(db: Database) -> None:
    db.execute("quota_ensure_realm", _REALM)
    with db.transaction() as holder:
        holder.one("quota_lock_window", _REALM)
        with db.transaction() as waiter:
            waiter.conn.execute("set local lock_timeout = '50ms'")
            with pytest.raises(StoreConflict) as caught:
                waiter.one("quota_lock_window", _REALM)
    assert isinstance(caught.value, StoreUnavailable)  # transient, like an outage
    assert caught.value.sqlstate == "55P03"
    assert isinstance(caught.value.__cause__, psycopg.errors.LockNotAvailable)


def test_a_value_the_database_refuses_is_rejected(db: Database) -> None:
    params = {"realm_id": "9130", "slot": "not a number", "holder": "h"}
    with pytest.raises(StoreRejected, match="invalid input syntax"):
        db.execute("quota_release_slot", params)


def test_a_missing_table_is_a_bug_that_names_migrations(db: Database, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("drop table webhook_deliveries")
    with pytest.raises(StoreSchemaMissing) as caught:
        db.all("seen_webhook_deliveries", {"keys": ["k"]})
    assert isinstance(caught.value, StoreBug)
    assert "webhook_deliveries" in str(caught.value)
