"""A thin layer over a psycopg 3 connection pool: execute / one / all on named queries.

psycopg's exceptions are converted here, and only here, into `StoreError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from store import queries

Row = dict[str, Any]


class StoreError(Exception):
    """Root of the store's errors."""


class StoreUnavailable(StoreError):
    """The database could not be reached (transient: retry later)."""


class Database:
    """Named queries over a pool. Construction does no I/O; `open()` connects."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "autocommit": False},
            open=False,
            name="sequence-qbo",
        )

    def open(self, wait_seconds: float = 10.0) -> Database:
        try:
            self._pool.open(wait=True, timeout=wait_seconds)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        except Exception as exc:  # psycopg_pool.PoolTimeout
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        return self

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> Database:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back on an exception."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield Tx(conn)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(str(exc)) from exc

    def execute(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        with self.transaction() as tx:
            return tx.execute(name, params)

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> Row | None:
        with self.transaction() as tx:
            return tx.one(name, params)

    def all(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        with self.transaction() as tx:
            return tx.all(name, params)


class Tx:
    """Named queries inside one transaction (several statements, one commit)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def _run(self, name: str, params: Mapping[str, Any] | None) -> psycopg.Cursor[Any]:
        sql = queries.all_queries()[name]
        return self.conn.execute(sql.encode(), params or {})

    def execute(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        return self._run(name, params).rowcount

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> Row | None:
        row: Row | None = self._run(name, params).fetchone()
        return row

    def all(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        rows: list[Row] = self._run(name, params).fetchall()
        return rows
