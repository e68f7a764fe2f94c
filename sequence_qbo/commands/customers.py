"""`sequence-qbo customers list`: stored Sequence customer snapshots and their QBO links."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from sequence_qbo import wiring
from sequence_qbo.settings import Settings
from store import customers


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("customers", help="Sequence customers and their QBO links")
    cmds = group.add_subparsers(dest="customers_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="stored customer snapshots")
    ls.add_argument("--account", help="only this Sequence account")
    ls.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    ls.set_defaults(func=_list)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with wiring.database(settings) as db:
        rows = customers.list_snapshots(db, args.account, args.limit)
    table = Table("account", "customer", "legal name", "email", "country", "tax status",
                  "QBO customer", "updated", title=f"{len(rows)} stored customer snapshot(s)")
    for row in rows:
        snap = row["snapshot"]
        table.add_row(row["account_id"], row["customer_id"], snap["legal_name"], snap["email"],
                      snap["address"]["country"], snap["tax_status"],
                      row["qbo_customer_id"] or "not linked",
                      row["updated_at"].strftime("%Y-%m-%d %H:%M:%S"))
    Console().print(table)
    return 0
