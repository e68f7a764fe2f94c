"""The admin API's document routes (docs/operating.md#the-admin-api): what `sequence-qbo status` and
`sequence-qbo resync` do, as JSON under `/admin/v1/accounts/{account_id}/…`.

Same bearer token and error shape as `api.admin`. Re-syncing every failed document is a job
(`api.jobs`: `POST …/resync-failed` answers 202 with it). A re-sync answers the sync's outcome
with 200 even when that outcome is `failed` (the document's new state, with its reason); only a
document that cannot be re-synced now is an error: unknown 404 `document_not_found`, a credit
note whose invoice is not in QBO yet 409 `waiting_for_invoice`, QBO unreachable 503
`qbo_unavailable` (with Retry-After when QBO said how long).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Callable

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel

from api import admin
from api.admin import AdminDeps
from qbo import errors as qbo_errors
from store import ledger
from store.db import Database
from store.ledger import DocumentType
from sync.documents import DocumentSync, SyncResult, Waiting

__all__ = [
    "AccountStatus",
    "ResyncOut",
    "failed_documents",
    "read_status",
    "resync_one",
    "router",
    "sync_factory",
]


class Kind(enum.StrEnum):
    """The documents a re-sync can send (customers sync through their own routes)."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class Count(BaseModel):
    account_id: str
    document_type: str
    status: str
    documents: int
    latest: dt.datetime


class FailedDocument(BaseModel):
    account_id: str
    document_type: str
    sequence_id: str
    customer_id: str | None
    reason_code: str
    message: str | None
    attempts: int
    first_failed_at: dt.datetime | None
    last_attempt_at: dt.datetime | None


class Attempt(BaseModel):
    account_id: str
    document_type: str
    sequence_id: str
    outcome: str
    reason_code: str | None
    message: str | None
    qbo_calls: int
    at: dt.datetime


class AccountStatus(BaseModel):
    """The ledger of one account (or of all, for the status page's overview)."""

    account_id: str | None
    summary: list[Count]
    failed: list[FailedDocument]
    recent_attempts: list[Attempt]


class ResyncOut(BaseModel):
    document_type: Kind
    sequence_id: str
    outcome: str
    reason_code: str | None = None
    message: str | None = None
    qbo_id: str | None = None
    qbo_calls: int = 0

    @classmethod
    def of(cls, kind: Kind, sequence_id: str, result: SyncResult) -> ResyncOut:
        return cls(
            document_type=kind,
            sequence_id=sequence_id,
            outcome=result.outcome,
            reason_code=result.reason_code,
            message=result.message,
            qbo_id=result.qbo_id,
            qbo_calls=result.qbo_calls,
        )


def read_status(
    db: Database, account_id: str | None, *, failures: int, attempts: int
) -> AccountStatus:
    """The ledger summary, the newest failures and the newest attempts (None: every account)."""
    return AccountStatus(
        account_id=account_id,
        summary=[Count.model_validate(r) for r in ledger.summary(db, account_id)],
        failed=[
            FailedDocument.model_validate(r)
            for r in ledger.failed(db, account_id=account_id, limit=failures)
        ],
        recent_attempts=[
            Attempt.model_validate(r) for r in ledger.recent_attempts(db, account_id, attempts)
        ],
    )


def router(deps: AdminDeps) -> APIRouter:
    r = APIRouter(
        prefix=admin.PREFIX,
        tags=["documents"],
        dependencies=[Depends(admin.authorizer(deps.token()))],
        responses=admin.ERRORS,
    )
    _status_route(r, deps.services.db)
    _resync_routes(r, deps.services.db, sync_factory(deps.document_sync))
    return r


def _status_route(r: APIRouter, db: Database) -> None:
    @r.get("/status", summary="Ledger summary, failed documents and recent sync attempts")
    def status(
        account_id: str,
        limit: int = Query(50, ge=1, le=1000, description="recent attempts to list"),
        failures: int = Query(100, ge=1, le=10_000, description="failed documents to list"),
    ) -> AccountStatus:
        return read_status(db, account_id, failures=failures, attempts=limit)


def _resync_routes(r: APIRouter, db: Database, sync: Callable[[], DocumentSync]) -> None:
    @r.post(
        "/documents/{document_type}/{sequence_id}/resync",
        summary="Sync one document again from its latest snapshot",
    )
    def resync(account_id: str, document_type: Kind, sequence_id: str) -> ResyncOut:
        try:
            result = sync().resync(account_id, DocumentType(document_type), sequence_id)
        except LookupError as exc:
            raise admin.problem(404, "document_not_found", str(exc)) from exc
        except Waiting as exc:
            raise admin.problem(409, "waiting_for_invoice", str(exc)) from exc
        except qbo_errors.Retryable as exc:
            raise _unavailable(exc) from exc
        # The sync records these states itself now (it no longer raises them).
        if result.outcome == "waiting":
            raise admin.problem(409, "waiting_for_invoice", result.message or "")
        if result.outcome == "retrying" and result.scope == "realm":  # QBO throttled or down
            wait = result.retry_after
            headers = {"Retry-After": str(max(1, math.ceil(wait)))} if wait is not None else None
            raise admin.problem(503, "qbo_unavailable", result.message or "", headers=headers)
        return ResyncOut.of(document_type, sequence_id, result)


def failed_documents(
    db: Database, account_id: str, reason_code: str | None, limit: int
) -> list[tuple[Kind, str]]:
    rows = ledger.failed(db, account_id=account_id, reason_code=reason_code, limit=limit)
    kinds = {k.value: k for k in Kind}
    return [
        (kinds[r["document_type"]], r["sequence_id"]) for r in rows if r["document_type"] in kinds
    ]


def resync_one(sync: DocumentSync, account_id: str, kind: Kind, sequence_id: str) -> ResyncOut:
    """One document of a bulk re-sync: what stops a single re-sync becomes its outcome here
    (as the CLI's `resync --all-failed` reports it), so one document never hides the rest."""
    try:
        result = sync.resync(account_id, DocumentType(kind), sequence_id)
    except LookupError as exc:
        result = SyncResult("failed", "document_not_found", str(exc))
    except Waiting as exc:
        result = SyncResult("failed", "waiting_for_invoice", str(exc))
    except qbo_errors.Retryable as exc:
        result = SyncResult("failed", "qbo_unavailable", str(exc))
    return ResyncOut.of(kind, sequence_id, result)


def _unavailable(exc: qbo_errors.Retryable) -> HTTPException:
    wait = exc.retry_after
    headers = {"Retry-After": str(max(1, math.ceil(wait)))} if wait is not None else None
    return admin.problem(503, "qbo_unavailable", str(exc), headers=headers)


def sync_factory(factory: Callable[[], DocumentSync] | None) -> Callable[[], DocumentSync]:
    def sync() -> DocumentSync:
        if factory is None:
            raise admin.problem(
                503, "resync_unavailable", "this server was started without document sync"
            )
        return factory()

    return sync
