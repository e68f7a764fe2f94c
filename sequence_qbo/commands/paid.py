"""`sequence-qbo paid list`: invoices QBO reports as paid or partly paid (or whose payment state
changed), their payment history and what was announced of it (docs/events.md)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from schemas.money import money_text
from sequence_qbo import wiring
from sequence_qbo.commands import _common
from sequence_qbo.errors import CliError
from sequence_qbo.settings import Settings
from store import reconcile

# Payment states as the contract spells them (invoice.payment_status_changed).
_STATUS = {"unpaid": "UNPAID", "partial": "PARTIALLY_PAID", "paid": "PAID"}


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("paid", help="payments of synced invoices, as read from QBO")
    cmds = group.add_subparsers(dest="paid_command", metavar="ACTION", required=True)
    ls = cmds.add_parser(
        "list",
        help="paid, partly paid and re-opened invoices with their payment history, most "
        "recent first; with --invoice, every version of one invoice",
    )
    ls.add_argument("--account", help="only this Sequence account")
    ls.add_argument("--invoice", help="the history of this Sequence invoice (needs --account)")
    ls.add_argument(
        "--status", choices=("paid", "partial", "unpaid"), help="only this current status"
    )
    ls.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    _common.json_arg(ls)
    ls.set_defaults(func=_list)


def _event(row: Mapping[str, Any]) -> str:
    """What became of invoice.paid: sent, queued in the outbox, or why there is none."""
    if row["no_event_reason"]:
        return f"none: {row['no_event_reason']}"
    if row["event_id"] is None:
        return "" if row["status"] != "paid" else "none"
    return f"sent {row['sent_at']:%Y-%m-%d %H:%M}" if row["sent_at"] else "queued"


def _history(row: Mapping[str, Any]) -> str:
    """v1 PARTIALLY_PAID 22.22 → v2 PAID 122.22 …, a version not yet published marked so."""
    steps = []
    for h in row["history"]:
        amount = money_text(Decimal(h["amount_paid"]), row["currency"])
        pending = " (queued)" if h["announce"] and not h["sent"] else ""
        steps.append(f"v{h['version']} {_STATUS[h['status']]} {amount}{pending}")
    return " → ".join(steps)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    if args.invoice:
        return _invoice_history(args, settings)
    with wiring.database(settings) as db:
        rows = reconcile.paid_list(
            db, account_id=args.account, status=args.status, limit=args.limit
        )
    _common.listing(
        args,
        f"{len(rows)} paid, partly paid or re-opened invoice(s)",
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
            "payment states",
        ),
        (
            (
                r["account_id"],
                r["invoice_id"],
                r["qbo_invoice_id"],
                r["status"],
                money_text(r["amount_paid"], r["currency"]),
                money_text(r["total_amount"], r["currency"]),
                r["currency"],
                r["paid_at"],
                ", ".join(r["qbo_payment_ids"]),
                _event(r),
                _history(r),
            )
            for r in rows
        ),
    )
    return 0


def _payments(row: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{p['qbo_payment_id']} ({p['txn_date'] or 'no date'}: "
        f"{money_text(Decimal(p['amount']), row['currency'])})"
        for p in row["payments"]
    )


def _announced(row: Mapping[str, Any]) -> str:
    if row["announce"] is None:
        return "nothing (Stripe payment link)"
    what = "invoice.payment_status_changed"
    if row["announce"] == "paid_in_qbo_ignored":
        what = "qbo.sync_status paid_in_qbo_ignored"
    return f"{what}, " + (f"sent {row['sent_at']:%Y-%m-%d %H:%M}" if row["sent_at"] else "queued")


def _invoice_history(args: argparse.Namespace, settings: Settings) -> int:
    if not args.account:
        raise CliError("--invoice needs --account")
    with wiring.database(settings) as db:
        rows = reconcile.payment_history(
            db, args.account, invoice_id=args.invoice, limit=args.limit
        )
    _common.listing(
        args,
        f"payment history of invoice {args.invoice} ({len(rows)} version(s))",
        ("version", "status", "paid", "balance", "currency", "payments", "QBO changed", "event"),
        (
            (
                r["version"],
                _STATUS[r["status"]],
                money_text(r["amount_paid"], r["currency"]),
                money_text(r["balance"], r["currency"]),
                r["currency"],
                _payments(r),
                f"{r['occurred_at']:%Y-%m-%d %H:%M:%S}",
                _announced(r),
            )
            for r in rows
        ),
    )
    return 0
