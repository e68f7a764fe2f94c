"""`sequence-qbo status` and `sequence-qbo resync`: what synced, what failed and why, and
syncing documents again."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from qbo import errors as qbo_errors
from sequence_qbo import wiring
from sequence_qbo.settings import Settings
from store import ledger
from store.ledger import DocumentType
from sync.documents import SyncResult, Waiting


def register(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("status", help="ledger summary and failures with their reasons")
    st.add_argument("--account", help="only this Sequence account")
    st.add_argument(
        "--failures",
        type=int,
        default=20,
        metavar="N",
        help="show at most N failed documents (default 20)",
    )
    st.set_defaults(func=_status)
    rs = sub.add_parser("resync", help="sync documents again from their latest snapshot")
    rs.add_argument("--account", required=True, help="the Sequence account")
    which = rs.add_mutually_exclusive_group(required=True)
    which.add_argument("--invoice", metavar="ID", help="one invoice")
    which.add_argument("--credit-note", metavar="ID", help="one credit note")
    which.add_argument("--all-failed", action="store_true", help="every failed document")
    rs.add_argument("--reason", metavar="CODE", help="with --all-failed: only this reason code")
    rs.set_defaults(func=_resync)


def _status(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(width=max(Console().width, 140))  # messages are sentences
    with wiring.database(settings) as db:
        summary = ledger.summary(db, args.account)
        failures = ledger.failed(db, account_id=args.account, limit=args.failures)
    table = Table("account", "document", "status", "count", "latest", title="sync ledger")
    for row in summary:
        table.add_row(
            row["account_id"],
            row["document_type"],
            row["status"],
            str(row["documents"]),
            f"{row['latest']:%Y-%m-%d %H:%M:%S}",
        )
    console.print(table if summary else "no documents in the ledger yet")
    if failures:
        fail = Table(
            "account",
            "document",
            "id",
            "reason",
            "message",
            "attempts",
            title=f"failed documents (newest {len(failures)})",
        )
        for row in failures:
            fail.add_row(
                row["account_id"],
                row["document_type"],
                row["sequence_id"],
                row["reason_code"],
                row["message"],
                str(row["attempts"]),
            )
        console.print(fail)
    return 0


def _resync(args: argparse.Namespace, settings: Settings) -> int:
    from sequence_qbo.cli import CliError

    with wiring.Application(settings) as app:
        sync = app.document_sync
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
                    (doc_type, sequence_id, _one(sync, args.account, doc_type, sequence_id))
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
    Console(width=max(Console().width, 140)).print(table)
    return 1 if any(r.outcome in ("failed", "waiting") for _, _, r in results) else 0


def _targets(db: wiring.Database, args: argparse.Namespace) -> list[tuple[DocumentType, str]]:
    if args.invoice:
        return [(DocumentType.INVOICE, args.invoice)]
    if args.credit_note:
        return [(DocumentType.CREDIT_NOTE, args.credit_note)]
    rows = ledger.failed(db, account_id=args.account, reason_code=args.reason, limit=100_000)
    return [(DocumentType(r["document_type"]), r["sequence_id"]) for r in rows]


def _one(
    sync: wiring.DocumentSync, account: str, doc_type: DocumentType, sequence_id: str
) -> SyncResult:
    from sequence_qbo.cli import CliError

    try:
        return sync.resync(account, doc_type, sequence_id)
    except LookupError as exc:
        raise CliError(str(exc)) from exc
    except Waiting as exc:
        return SyncResult("failed", "waiting", str(exc))
    except qbo_errors.Retryable as exc:
        return SyncResult("failed", "qbo_unavailable", str(exc))
