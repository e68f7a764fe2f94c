"""Background jobs of the admin API (docs/operating.md#the-admin-api): work too long for one
request (a customer import pages through every QBO customer; a re-sync of every failed document
may be thousands of QBO calls; a topic replay reads a time range of a topic) is answered
`202 Accepted` with a job resource (`Location: /admin/v1/jobs/{id}`) and runs in the serving
process. The job row (`jobs`, PostgreSQL) says how far it got (`done` of `total`), then its
typed report or why it failed; an import's report files download as CSV and JSON.

A job runs in the process that accepted it: if that process stops, its open jobs are failed
when it starts again (`JobRunner.abandon_previous`), never left `running` for ever.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from api import admin, documents, operations
from api.admin import AdminDeps
from api.documents import ResyncOut
from api.operations import OperationRefused, Operations, ReplayIn, ReplayReport
from store import jobs as store
from store.db import Database, Row
from sync import import_
from sync.errors import ServiceError

__all__ = [
    "ImportReport",
    "Job",
    "JobRunner",
    "ResyncReport",
    "job_out",
    "router",
    "submit_import",
    "submit_resync_failed",
]

log = logging.getLogger(__name__)

JOBS_PREFIX = "/admin/v1/jobs"

Progress = Callable[[int, int | None], None]  # (done, total)


class JobKind(enum.StrEnum):
    CUSTOMER_IMPORT = "customer_import"
    RESYNC_FAILED = "resync_failed"
    REPLAY = "replay"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportProblem(BaseModel):
    field: str = Field(description="the QBO field, e.g. BillAddr.PostalCode")
    problem: str = Field(description='"missing", or "invalid: <why>"')
    value: str | None = None


class RejectedCustomer(BaseModel):
    qbo_customer_id: str
    display_name: str
    problems: list[ImportProblem]


class ImportReport(BaseModel):
    """What a customer import did (docs/qbo-mapping.md#importing-customers-from-qbo)."""

    kind: Literal["customer_import"] = "customer_import"
    scanned: int
    imported: int
    skipped: int = Field(description="already linked")
    rejected: int
    normalised: int
    rejected_customers: list[RejectedCustomer]

    @classmethod
    def of(cls, result: import_.ImportResult) -> ImportReport:
        c = result.counts()
        return cls(
            scanned=c["scanned"],
            imported=c["imported"],
            skipped=c["skipped"],
            rejected=c["rejected"],
            normalised=c["normalised"],
            rejected_customers=[
                RejectedCustomer.model_validate(r) for r in result.as_dict()["rejected_customers"]
            ],
        )


class ResyncReport(BaseModel):
    """Every failed document synced again, with its new outcome."""

    kind: Literal["resync_failed"] = "resync_failed"
    outcomes: dict[str, int] = Field(description="outcome → documents")
    documents: list[ResyncOut]


Report = Annotated[ImportReport | ResyncReport | ReplayReport, Field(discriminator="kind")]


class Download(BaseModel):
    format: Literal["csv", "json"]
    url: str


class Job(BaseModel):
    id: str
    account_id: str | None
    kind: JobKind
    status: JobStatus
    done: int = Field(description="items handled so far")
    total: int | None = Field(description="items to handle, once known")
    error: str | None = Field(description="why it failed")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    result: Report | None = Field(description="the report, once succeeded")
    downloads: list[Download] = Field(description="the report as files (customer import)")


def job_out(row: Row) -> Job:
    stored = row["result"] or {}
    files = stored.get("files") or {}
    return Job(
        id=row["id"],
        account_id=row["account_id"],
        kind=row["kind"],
        status=row["status"],
        done=row["done"],
        total=row["total"],
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        result=stored.get("report"),
        downloads=[
            Download(format=fmt, url=f"{JOBS_PREFIX}/{row['id']}/report.{fmt}")
            for fmt in ("csv", "json")
            if fmt in files
        ],
    )


Work = Callable[[Progress], tuple[BaseModel, Mapping[str, str]]]  # → (report, files)


class JobRunner:
    """Runs jobs on a small thread pool of the serving process (built on the first job)."""

    def __init__(self, db: Database, owner: str, workers: int = 2) -> None:
        self.db, self.owner, self._workers = db, owner, workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def abandon_previous(self, started: dt.datetime) -> int:
        """Fails what this owner's previous run left open (call once when serving starts)."""
        return store.abandon(self.db, self.owner, started, "the server stopped while it ran")

    def submit(
        self, account_id: str | None, kind: JobKind, params: Mapping[str, Any], work: Work
    ) -> Job:
        job_id = uuid.uuid4().hex
        row = store.create(
            self.db,
            job_id=job_id,
            account_id=account_id,
            kind=kind.value,
            params=params,
            owner=self.owner,
        )
        self._executor().submit(self._run, job_id, work)
        return job_out(row)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="job")
            return self._pool

    def _run(self, job_id: str, work: Work) -> None:
        try:
            store.start(self.db, job_id)
            last = [0]

            def progress(done: int, total: int | None) -> None:
                last[0] = done
                store.progress(self.db, job_id, done, total)

            report, files = work(progress)
            result = {"report": report.model_dump(mode="json"), "files": dict(files)}
            store.succeed(self.db, job_id, result, last[0])
        except ServiceError as exc:  # the service's own words: safe to show
            store.fail(self.db, job_id, f"{exc.reason}: {exc}")
        except Exception as exc:
            # Logged in full here; the row gets only the class (a message may quote a secret).
            log.exception("job %s failed", job_id)
            try:
                store.fail(self.db, job_id, f"unexpected error ({type(exc).__name__}); see log")
            except Exception:
                log.exception("job %s: could not record the failure", job_id)


def submit_import(deps: AdminDeps, account_id: str) -> Job:
    """Checks the connection now (409 `not_connected` in the request), imports in a job."""
    d = deps.services
    client = admin.call(lambda: d.client(account_id))

    def work(progress: Progress) -> tuple[BaseModel, Mapping[str, str]]:
        result = import_.import_customers(
            d.db, client, d.pub, account_id, deps.report_dir, progress=progress
        )
        files = {"csv": str(result.report_csv), "json": str(result.report_json)}
        return ImportReport.of(result), files

    return deps.jobs.submit(account_id, JobKind.CUSTOMER_IMPORT, {}, work)


def submit_resync_failed(
    deps: AdminDeps, account_id: str, reason_code: str | None, limit: int
) -> Job:
    sync = documents.sync_factory(deps.document_sync)
    service = sync()  # 503 resync_unavailable in the request, not in the job

    def work(progress: Progress) -> tuple[BaseModel, Mapping[str, str]]:
        keys = documents.failed_documents(deps.services.db, account_id, reason_code, limit)
        progress(0, len(keys))
        out: list[ResyncOut] = []
        for kind, sid in keys:
            out.append(documents.resync_one(service, account_id, kind, sid))
            progress(len(out), len(keys))
        counts: dict[str, int] = {}
        for r in out:
            counts[r.outcome] = counts.get(r.outcome, 0) + 1
        return ResyncReport(outcomes=counts, documents=out), {}

    params = {"reason_code": reason_code, "limit": limit}
    return deps.jobs.submit(account_id, JobKind.RESYNC_FAILED, params, work)


def submit_replay(deps: AdminDeps, body: ReplayIn) -> Job:
    ops = _operations(deps.operations)
    try:
        ops.check_topic(body.topic)  # refused in the request, not in the job
    except OperationRefused as exc:
        raise operations.refused(exc) from exc

    def work(progress: Progress) -> tuple[BaseModel, Mapping[str, str]]:
        return ops.replay(body, progress), {}

    return deps.jobs.submit(None, JobKind.REPLAY, body.model_dump(mode="json"), work)


def _operations(ops: Operations | None) -> Operations:
    if ops is None:
        raise admin.problem(
            503, "operations_unavailable", "this server was started without Kafka operations"
        )
    return ops


def _accepted(response: Response, job: Job) -> Job:
    response.headers["Location"] = f"{JOBS_PREFIX}/{job.id}"
    return job


def router(deps: AdminDeps) -> APIRouter:
    r = APIRouter(
        tags=["jobs"],
        dependencies=[Depends(admin.authorizer(deps.token()))],
        responses=admin.ERRORS,
    )
    db = deps.services.db

    @r.post(
        f"{admin.PREFIX}/customers/import",
        status_code=202,
        summary="Import customers from QBO (customer.imported), as a job",
    )
    def import_customers(account_id: str, response: Response) -> Job:
        return _accepted(response, submit_import(deps, account_id))

    @r.post(
        f"{admin.PREFIX}/resync-failed",
        status_code=202,
        summary="Sync every failed document of the account again, as a job",
    )
    def resync_failed(
        account_id: str,
        response: Response,
        reason_code: str | None = Query(None, description="only failures with this reason"),
        limit: int = Query(10_000, ge=1, le=100_000, description="at most this many documents"),
    ) -> Job:
        return _accepted(response, submit_resync_failed(deps, account_id, reason_code, limit))

    @r.post("/admin/v1/replay", status_code=202, summary="Replay a time range of a topic, as a job")
    def replay(body: ReplayIn, response: Response) -> Job:
        return _accepted(response, submit_replay(deps, body))

    @r.get(f"{admin.PREFIX}/jobs", summary="The account's jobs, newest first")
    def account_jobs(
        account_id: str, limit: int = Query(50, ge=1, le=1000, description="at most this many")
    ) -> list[Job]:
        return [job_out(row) for row in store.list_jobs(db, account_id, limit)]

    @r.get(f"{JOBS_PREFIX}/{{job_id}}", summary="A job: its progress, then its report")
    def job(job_id: str) -> Job:
        return job_out(_row(db, job_id))

    @r.get(
        f"{JOBS_PREFIX}/{{job_id}}/report.{{fmt}}",
        summary="A customer import's report file (CSV: one row per problem; JSON)",
        response_class=FileResponse,
        responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    )
    def report(job_id: str, fmt: Literal["csv", "json"]) -> FileResponse:
        files = (_row(db, job_id)["result"] or {}).get("files") or {}
        if fmt not in files:
            raise admin.problem(404, "report_not_found", f"job {job_id} has no {fmt} report")
        media = "text/csv" if fmt == "csv" else "application/json"
        path = Path(files[fmt])
        return FileResponse(path, media_type=media, filename=path.name)

    return r


def _row(db: Database, job_id: str) -> Row:
    row = store.get(db, job_id)
    if row is None:
        raise admin.problem(404, "job_not_found", f"no job {job_id}")
    return row
