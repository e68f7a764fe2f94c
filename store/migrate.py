"""Applies the numbered migrations in order, once each, recording them.

An advisory lock serialises concurrent `db migrate` runs (several workers starting at once).
"""

from __future__ import annotations

import psycopg

from store import queries
from store.db import converted

_LOCK_KEY = 0x5E9_0B0  # arbitrary, fixed: "sequence-qbo migrations"


def migrate(url: str) -> list[str]:
    """Applies pending migrations; returns the names applied (empty when up to date)."""
    applied: list[str] = []
    with converted(), psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "create table if not exists schema_migrations ("
                " number int primary key, name text not null,"
                " applied_at timestamptz not null default now())"
            )
            done = {n for (n,) in conn.execute("select number from schema_migrations")}
            for number, name, sql in queries.migrations():
                if number in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())  # our own migration file
                    conn.execute(
                        "insert into schema_migrations (number, name) values (%s, %s)",
                        (number, name),
                    )
                applied.append(f"{number:04d}_{name}")
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied
