"""A thin layer over a psycopg 3 connection pool: execute / one / all on named queries.

psycopg's exceptions are converted here, and only here (`converted`), into the store's own,
split by what the caller can do:

    StoreError
    ├── StoreUnavailable    transient: the database cannot do it now; retry later
    │   └── StoreConflict   transient: a concurrent transaction got there first; retry at once
    ├── StoreRejected       permanent for these values: they do not fit (too long, out of range)
    └── StoreBug            a query, a constraint or the schema says the code is wrong
        └── StoreSchemaMissing  a table or column is missing: migrations not applied
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from store import queries

__all__ = [
    "Database",
    "Row",
    "Statement",
    "StoreBug",
    "StoreConflict",
    "StoreError",
    "StoreRejected",
    "StoreSchemaMissing",
    "StoreUnavailable",
    "Tx",
    "converted",
]

Row = dict[str, Any]
# A named query and its parameters, for `Database.pipeline`.
Statement = tuple[str, Mapping[str, Any] | None]


class StoreError(Exception):
    """Root of the store's errors. `sqlstate` is PostgreSQL's error code, when it sent one."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class StoreUnavailable(StoreError):
    """The database could not do it now: unreachable, restarting, out of connections
    (transient: retry later)."""


class StoreConflict(StoreUnavailable):
    """A concurrent transaction got there first: serialization failure, deadlock, a lock not
    available (transient: the transaction can be tried again at once)."""


class StoreRejected(StoreError):
    """The values do not fit their columns: too long, out of range, not a number (permanent
    for these values)."""


class StoreBug(StoreError):
    """A defect, not a state: a query is wrong, a constraint refused what the code wrote
    (every write of ours is meant to keep them), or the schema is behind."""


class StoreSchemaMissing(StoreBug):
    """A table or column the query needs does not exist: `sequence-qbo db migrate`."""


_CONFLICTS = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
)
_MISSING = (pg_errors.UndefinedTable, pg_errors.UndefinedColumn)


def _store_error(exc: psycopg.Error) -> StoreError:
    """The store's exception for a psycopg one (conflicts are OperationalErrors: first)."""
    kind: type[StoreError]
    if isinstance(exc, _CONFLICTS):
        kind = StoreConflict
    elif isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        kind = StoreUnavailable
    elif isinstance(exc, psycopg.DataError):
        kind = StoreRejected
    elif isinstance(exc, _MISSING):
        kind = StoreSchemaMissing
    else:
        kind = StoreBug
    return kind(str(exc).strip() or type(exc).__name__, exc.sqlstate)


@contextmanager
def converted() -> Iterator[None]:
    """Runs the block with every psycopg error raised as the store's own (`from` the original)."""
    try:
        yield
    except psycopg.Error as exc:
        raise _store_error(exc) from exc


class Database:
    """Named queries over a pool. Construction does no I/O; `open()` connects."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            # Autocommit: a statement run alone (`execute`, `one`, `all`, `pipeline`) is its own
            # transaction, with no BEGIN and COMMIT round trips; `transaction()` opens one.
            kwargs={"row_factory": dict_row, "autocommit": True},
            open=False,
            name="sequence-qbo",
        )

    def open(self, wait_seconds: float = 10.0) -> Database:
        try:
            self._pool.open(wait=True, timeout=wait_seconds)
        except psycopg.Error as exc:  # psycopg_pool.PoolTimeout is an OperationalError
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
        with converted(), self._pool.connection() as conn, conn.transaction():
            yield Tx(conn)

    @contextmanager
    def _alone(self) -> Iterator[Tx]:
        """A connection outside any transaction: each statement commits on its own."""
        with converted(), self._pool.connection() as conn:
            yield Tx(conn)

    # One statement is atomic on its own: one round trip, not three (BEGIN, it, COMMIT).
    def execute(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        with self._alone() as tx:
            return tx.execute(name, params)

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> Row | None:
        with self._alone() as tx:
            return tx.one(name, params)

    def all(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        with self._alone() as tx:
            return tx.all(name, params)

    def pipeline(self, *statements: Statement) -> list[list[Row]]:
        """Runs the statements in one round trip (psycopg's pipeline mode), in order, and
        returns the rows each one returned. PostgreSQL runs them as one implicit transaction:
        they commit together when the last one is done, or none does. Each statement still
        reads what was committed when it started (READ COMMITTED), so a statement after one
        that waited for a lock sees what the lock's holder committed."""
        with self._alone() as tx:
            with tx.conn.pipeline():  # sent at once; the results come back when it ends
                cursors = [tx.run(name, params) for name, params in statements]
            return [cursor.fetchall() if cursor.description else [] for cursor in cursors]


class Tx:
    """Named queries on one connection: inside one transaction (`Database.transaction`:
    several statements, one commit), or each committed alone (`Database.execute` and co)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def run(self, name: str, params: Mapping[str, Any] | None) -> psycopg.Cursor[Any]:
        sql = queries.all_queries()[name]
        return self.conn.execute(sql.encode(), params or {})

    # Converted here too, not only when the transaction ends: a caller may handle a store
    # error inside its `with db.transaction()` block.
    def execute(self, name: str, params: Mapping[str, Any] | None = None) -> int:
        with converted():
            return self.run(name, params).rowcount

    def one(self, name: str, params: Mapping[str, Any] | None = None) -> Row | None:
        with converted():
            row: Row | None = self.run(name, params).fetchone()
        return row

    def all(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        with converted():
            rows: list[Row] = self.run(name, params).fetchall()
        return rows
