from __future__ import annotations

import psycopg
import pytest

from store import queries
from store.migrate import migrate

pytestmark = pytest.mark.integration


def test_migrations_are_recorded_and_applied_once(db_url: str) -> None:
    # The test database is a copy of the migrated template: nothing is pending.
    assert migrate(db_url) == []
    with psycopg.connect(db_url) as conn:
        recorded = [r[0] for r in conn.execute("select number from schema_migrations order by 1")]
    assert recorded == [n for n, _, _ in queries.migrations()]


def test_migrating_an_empty_database(pg_template: str, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("drop schema public cascade; create schema public")
    applied = migrate(db_url)
    assert applied == [f"{n:04d}_{name}" for n, name, _ in queries.migrations()]
    assert migrate(db_url) == []
