"""`sequence-qbo status` and `sequence-qbo resync`: what synced, what is failed, retrying or
waiting and why (since when), and syncing documents again. Reason codes: docs/failures.md."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from consumers.runtime.types import Done, Failed, Outcome, Poison, Retry
from sequence_qbo import wiring
from sequence_qbo.commands import _common
from sequence_qbo.errors import CliError
from sequence_qbo.settings import Settings
from store import ledger
from store.db import Row
from store.ledger import DocumentType
from sync import failures
from sync.documents import SyncResult

_STATES = ("failed", "retrying", "waiting")


def register(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser(
        "status", help="ledger summary, and documents failed, retrying or waiting with reasons"
    )
    st.add_argument("--account", help="only this Sequence account")
    st.add_argument(
        "--failures",
        type=int,
        default=20,
        metavar="N",
        help="show at most N documents failed, retrying or waiting (default 20)",
    )
    st.add_argument("--state", choices=_STATES, help="only documents in this state")
    st.add_argument("--json", action="store_true", help="print one JSON document")
    st.set_defaults(func=_status)
    rs = sub.add_parser("resync", help="sync documents again from their latest snapshot")
    rs.add_argument("--account", required=True, help="the Sequence account")
    which = rs.add_mutually_exclusive_group(required=True)
    which.add_argument("--invoice", metavar="ID", help="one invoice")
    which.add_argument("--credit-note", metavar="ID", help="one credit note")
    which.add_argument("--customer", metavar="ID", help="one customer (customer.updated)")
    which.add_argument(
        "--all-failed", action="store_true", help="every failed document and customer"
    )
    rs.add_argument("--reason", metavar="CODE", help="with --all-failed: only this reason code")
    rs.set_defaults(func=_resync)


# -- status --------------------------------------------------------------------------------------
def _status(args: argparse.Namespace, settings: Settings) -> int:
    with wiring.database(settings) as db:
        summary = ledger.summary(db, args.account)
        problems = ledger.problems(
            db, account_id=args.account, status=args.state, limit=args.failures
        )
    if args.json:
        print(json.dumps(as_json(summary, problems), indent=2))
        return 0
    console = Console(width=max(Console().width, 160))  # messages are sentences
    console.print(_summary_table(summary) if summary else "no documents in the ledger yet")
    if problems:
        console.print(_common.never_cut(_problems_table(problems)))  # ids stay whole
    return 0


def as_json(summary: list[Row], problems: list[Row]) -> dict[str, Any]:
    """`status --json`: counts per account, document type and status, and the documents
    failed, retrying or waiting (newest state first) with reason, message and since when."""
    counts = {state: 0 for state in _STATES}
    for row in summary:
        if row["status"] in counts:
            counts[row["status"]] += int(row["documents"])
    return {
        "summary": [
            {
                "account_id": r["account_id"],
                "document_type": r["document_type"],
                "status": r["status"],
                "documents": int(r["documents"]),
                "latest": _iso(r["latest"]),
            }
            for r in summary
        ],
        "totals": counts,
        "documents": [
            {
                "account_id": r["account_id"],
                "document_type": r["document_type"],
                "sequence_id": r["sequence_id"],
                "customer_id": r["customer_id"],
                "status": r["status"],
                "reason_code": r["reason_code"],
                "message": r["message"],
                "since": _iso(r["state_since"]),
                "attempts": r["attempts"],
                "last_attempt_at": _iso(r["last_attempt_at"]),
                "waits_for": _waits_for(r),
            }
            for r in problems
        ],
    }


def _summary_table(summary: list[Row]) -> Table:
    table = Table("account", "document", "status", "count", "latest", title="sync ledger")
    for row in summary:
        table.add_row(
            row["account_id"],
            row["document_type"],
            row["status"],
            str(row["documents"]),
            f"{row['latest']:%Y-%m-%d %H:%M:%S}",
        )
    return table


def _problems_table(problems: list[Row]) -> Table:
    table = Table(
        "account",
        "document",
        "id",
        "state",
        "reason",
        "since",
        "message",
        "attempts",
        title=f"documents failed, retrying or waiting (newest {len(problems)})",
    )
    for row in problems:
        waits = _waits_for(row)
        message = row["message"] or ""
        table.add_row(
            row["account_id"],
            row["document_type"],
            row["sequence_id"],
            row["status"],
            row["reason_code"],
            f"{row['state_since']:%Y-%m-%d %H:%M:%S}",
            f"{message} (waits for {waits})" if waits else message,
            str(row["attempts"]),
        )
    return table


def _waits_for(row: Row) -> str | None:
    if not row.get("waits_for_id"):
        return None
    return f"{row['waits_for_type']} {row['waits_for_id']}"


def _iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat() if at is not None else None


# -- resync --------------------------------------------------------------------------------------
def _resync(args: argparse.Namespace, settings: Settings) -> int:
    with wiring.Application(settings) as app:
        targets = _targets(app.db, args)
        if not targets:
            raise CliError(
                f"no failed documents in account {args.account}"
                + (f" with reason {args.reason}" if args.reason else "")
            )
        results = []
        with Progress(transient=True) as progress:
            task = progress.add_task("re-syncing", total=len(targets))
            for doc_type, sequence_id in targets:
                results.append(
                    (doc_type, sequence_id, _one(app, args.account, doc_type, sequence_id))
                )
                progress.advance(task)
    table = Table("document", "id", "outcome", "reason", "message", title="re-sync")
    for doc_type, sequence_id, result in results:
        table.add_row(
            str(doc_type),
            sequence_id,
            result.outcome,
            result.reason_code or "",
            result.message or "",
        )
    Console(width=max(Console().width, 140)).print(_common.never_cut(table))
    settled = ("created", "updated", "adopted", "unchanged", "voided", "qbo_updated")
    return 0 if all(r.outcome in settled for _, _, r in results) else 1


def _targets(db: wiring.Database, args: argparse.Namespace) -> list[tuple[DocumentType, str]]:
    if args.invoice:
        return [(DocumentType.INVOICE, args.invoice)]
    if args.credit_note:
        return [(DocumentType.CREDIT_NOTE, args.credit_note)]
    if args.customer:
        return [(DocumentType.CUSTOMER, args.customer)]
    rows = ledger.problems(
        db, account_id=args.account, status="failed", reason_code=args.reason, limit=100_000
    )
    return [(DocumentType(r["document_type"]), r["sequence_id"]) for r in rows]


def _one(
    app: wiring.Application, account: str, doc_type: DocumentType, sequence_id: str
) -> SyncResult:
    if doc_type is DocumentType.CUSTOMER:
        handler = app.handlers()[app.settings.topics.resync]
        return _as_result(handler.customers.resync(account, sequence_id))  # type: ignore[attr-defined]
    try:
        return app.document_sync.resync(account, doc_type, sequence_id)
    except LookupError as exc:
        raise CliError(str(exc)) from exc
    except Exception as exc:
        verdict = failures.classify(exc)
        if verdict is None:
            raise
        return SyncResult(verdict.kind, verdict.reason, verdict.message)


def _as_result(outcome: Outcome) -> SyncResult:
    """A customer re-sync's runtime outcome, as the table shows documents'."""
    if isinstance(outcome, Done):
        return SyncResult("updated" if outcome.label == "qbo_updated" else "unchanged")
    if isinstance(outcome, Failed):
        return SyncResult("failed", outcome.reason_code, outcome.message)
    if isinstance(outcome, Retry):
        reason, _, message = outcome.reason.partition(": ")
        return SyncResult("retrying", reason, message)
    assert isinstance(outcome, Poison)
    return SyncResult("failed", outcome.error_class, outcome.reason)
