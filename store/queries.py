"""Loads the named queries from `store/sql/*.sql`.

A file holds blocks that start with a `-- name: some_query` line; the SQL up to the next such
line is the query. Names are unique across files. Parameters use psycopg's `%(name)s` style.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_SQL_DIR = Path(__file__).parent / "sql"
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse(text: str, origin: str = "<string>") -> dict[str, str]:
    """`-- name:` blocks of one file → {name: sql}."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} defined twice in {origin}")
        queries[name] = body.strip()
    return queries


@functools.cache
def all_queries() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(_SQL_DIR.glob("*.sql")):
        for name, sql in parse(path.read_text(), path.name).items():
            if name in found:
                raise ValueError(f"query {name!r} defined in two files ({path.name})")
            found[name] = sql
    return found


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every `sql/migrations/NNNN_name.sql`, in order."""
    out = []
    for path in sorted((_SQL_DIR / "migrations").glob("*.sql")):
        number, _, name = path.stem.partition("_")
        out.append((int(number), name, path.read_text()))
    numbers = [n for n, _, _ in out]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"two migrations share a number: {numbers}")
    return out
