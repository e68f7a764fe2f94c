"""`sequence-qbo paid list`: invoices QBO reports as paid or partly paid, and their invoice.paid."""

from __future__ import annotations

import argparse
from typing import Any

from sequence_qbo import wiring
from sequence_qbo.commands import _common
from sequence_qbo.settings import Settings
from store import reconcile


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("paid", help="payments of synced invoices, as read from QBO")
    cmds = group.add_subparsers(dest="paid_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="paid and partly paid invoices, most recent first")
    ls.add_argument("--account", help="only this Sequence account")
    ls.add_argument("--status", choices=("paid", "partial"), help="only this status")
    ls.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    ls.set_defaults(func=_list)


def _event(row: dict[str, Any]) -> str:
    """What became of invoice.paid: sent, queued in the outbox, or why there is none."""
    if row["no_event_reason"]:
        return f"none: {row['no_event_reason']}"
    if row["event_id"] is None:
        return "" if row["status"] == "partial" else "none"
    return f"sent {row['sent_at']:%Y-%m-%d %H:%M}" if row["sent_at"] else "queued"


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with wiring.database(settings) as db:
        rows = reconcile.paid_list(
            db, account_id=args.account, status=args.status, limit=args.limit
        )
    _common.table(
        f"{len(rows)} paid or partly paid invoice(s)",
        (
            "account",
            "invoice",
            "QBO id",
            "status",
            "paid",
            "total",
            "currency",
            "paid on",
            "payments",
            "invoice.paid",
        ),
        (
            (
                r["account_id"],
                r["invoice_id"],
                r["qbo_invoice_id"],
                r["status"],
                f"{r['amount_paid']:f}",
                f"{r['total_amount']:f}",
                r["currency"],
                r["paid_at"],
                ", ".join(r["qbo_payment_ids"]),
                _event(r),
            )
            for r in rows
        ),
    )
    return 0
