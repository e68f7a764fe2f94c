"""Background jobs (`jobs`, migration 0013): created queued, run by the serving process,
finished succeeded (with their report) or failed (with why)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from psycopg.types.json import Jsonb

from store.db import Database, Row

__all__ = ["abandon", "create", "fail", "get", "list_jobs", "progress", "start", "succeed"]


def create(
    db: Database,
    *,
    job_id: str,
    account_id: str | None,
    kind: str,
    params: Mapping[str, Any],
    owner: str,
) -> Row:
    row = db.one(
        "job_create",
        {
            "id": job_id,
            "account_id": account_id,
            "kind": kind,
            "params": Jsonb(dict(params)),
            "owner": owner,
        },
    )
    assert row is not None  # an insert with `returning` returns its row
    return row


def get(db: Database, job_id: str) -> Row | None:
    return db.one("job_get", {"id": job_id})


def list_jobs(db: Database, account_id: str | None, limit: int = 50) -> list[Row]:
    return db.all("job_list", {"account_id": account_id, "limit": limit})


def start(db: Database, job_id: str) -> bool:
    return db.execute("job_start", {"id": job_id}) == 1


def progress(db: Database, job_id: str, done: int, total: int | None) -> None:
    db.execute("job_progress", {"id": job_id, "done": done, "total": total})


def succeed(db: Database, job_id: str, result: Mapping[str, Any], done: int) -> None:
    db.execute("job_succeed", {"id": job_id, "result": Jsonb(dict(result)), "done": done})


def fail(db: Database, job_id: str, error: str) -> None:
    db.execute("job_fail", {"id": job_id, "error": error})


def abandon(db: Database, owner: str, before: dt.datetime, error: str) -> int:
    """Fails the jobs `owner` left open before `before` (its previous run ended them)."""
    return db.execute("job_abandon_others", {"owner": owner, "before": before, "error": error})
