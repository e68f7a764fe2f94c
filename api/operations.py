"""The admin API's Kafka operations (docs/operating.md#the-admin-api): what
`sequence-qbo dlq list|replay` and `replay` do, as JSON (payments: `api.payments`).

The Kafka side (reading the DLQ, re-injecting, a side consumer over a time range) belongs to
the consumers, an edge the API does not import: the composition root hands it in as
`Operations` (`sequence_qbo/operations.py`). Without it these routes answer 503
`operations_unavailable`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, model_validator

from api import admin

__all__ = [
    "DeadLetterOut",
    "DlqReplayIn",
    "DlqReplayOut",
    "OperationRefused",
    "Operations",
    "ReplayIn",
    "ReplayReport",
    "router",
]


class DeadLetterOut(BaseModel):
    """A record of the DLQ topic and the reason headers it was dead-lettered with."""

    coordinates: str = Field(description="PARTITION:OFFSET in the DLQ topic (what replay takes)")
    source_topic: str
    source_partition: str | None
    source_offset: str | None
    key: str | None = Field(description="the record's key as UTF-8 (bytes replaced)")
    error_class: str | None
    reason: str | None
    attempts: str | None
    first_failure: str | None
    truncated: bool = Field(description="only part of the value was copied: not re-injectable")
    headers: dict[str, str] = Field(description="every dlq.* header")


class DlqReplayIn(BaseModel):
    coordinates: list[str] = Field(
        min_length=1,
        max_length=10_000,
        description="the dead letters to re-inject, as PARTITION:OFFSET",
        json_schema_extra={"items": {"pattern": r"^\d+:\d+$"}},
    )
    dry_run: bool = False


class DlqReplayOut(BaseModel):
    dry_run: bool
    reinjected: list[DeadLetterOut] = Field(description="re-injected (or would be, dry run)")
    not_found: list[str] = Field(description="coordinates asked for that the DLQ does not hold")


class ReplayIn(BaseModel):
    topic: str = Field(min_length=1, description="an input topic")
    since: dt.datetime = Field(alias="from", description="ISO 8601; UTC when no zone")
    until: dt.datetime | None = Field(
        None, alias="to", description="inclusive; default: the end of the topic now"
    )
    dry_run: bool = Field(False, description="decode and count, call no handler")

    model_config = {"populate_by_name": True}

    @model_validator(mode="after")
    def _ordered(self) -> ReplayIn:
        self.since = _utc(self.since)
        self.until = _utc(self.until) if self.until is not None else None
        if self.until is not None and self.until < self.since:
            raise ValueError("`to` is before `from`")
        return self


class ReplayReport(BaseModel):
    kind: Literal["replay"] = "replay"
    topic: str
    since: dt.datetime
    until: dt.datetime | None
    dry_run: bool
    counts: dict[str, int] = Field(
        description="read, then decodable/undecodable (dry run) or unchanged/updated/failed"
    )


class OperationRefused(Exception):
    """A request an operation cannot take (an unknown topic, a truncated dead letter)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Operations(Protocol):
    """Kafka operations, provided by the composition root."""

    def dead_letters(self) -> Sequence[DeadLetterOut]: ...

    def reinject(self, coordinates: Sequence[str], *, dry_run: bool) -> DlqReplayOut: ...

    def check_topic(self, topic: str) -> None:
        """Raises `OperationRefused` for a topic that is not an input topic."""

    def replay(
        self, request: ReplayIn, progress: Callable[[int, int | None], None]
    ) -> ReplayReport:
        """Runs the replay (the job's body)."""
        ...


def refused(exc: OperationRefused) -> Exception:
    return admin.problem(422, exc.reason, str(exc))


def router(deps: admin.AdminDeps) -> APIRouter:
    r = APIRouter(
        tags=["operations"],
        dependencies=[Depends(admin.authorizer(deps.token()))],
        responses=admin.ERRORS,
    )

    @r.get("/admin/v1/dlq", summary="Dead-lettered records, oldest first")
    def dlq_list(
        topic: str | None = Query(None, description="only those from this source topic"),
        limit: int = Query(1000, ge=1, le=100_000, description="the newest this many"),
    ) -> list[DeadLetterOut]:
        letters = [x for x in _ops(deps).dead_letters() if topic is None or x.source_topic == topic]
        return letters[-limit:]

    @r.post("/admin/v1/dlq/replay", summary="Re-inject selected dead letters into their topics")
    def dlq_replay(body: DlqReplayIn) -> DlqReplayOut:
        try:
            return _ops(deps).reinject(body.coordinates, dry_run=body.dry_run)
        except OperationRefused as exc:
            raise refused(exc) from exc

    return r


def _ops(deps: admin.AdminDeps) -> Operations:
    if deps.operations is None:
        raise admin.problem(
            503, "operations_unavailable", "this server was started without Kafka operations"
        )
    return deps.operations


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)
