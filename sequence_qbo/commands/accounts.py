"""`sequence-qbo accounts list`: the realm's income accounts (for `products map`)."""

from __future__ import annotations

import argparse

from sequence_qbo.commands import _common
from sequence_qbo.settings import Settings
from sync import products


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("accounts", help="the QBO company's income accounts")
    cmds = group.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="income accounts (id, name, number, type)")
    _common.account_arg(ls)
    _common.json_arg(ls)
    ls.set_defaults(func=_common.reporting(_list))


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        rows = products.income_accounts(d.client(args.account))
    _common.listing(
        args,
        f"{len(rows)} income account(s)",
        ("id", "name", "number", "type", "sub-type"),
        ((a["id"], a["name"], a["number"], a["type"], a["sub_type"]) for a in rows),
    )
    return 0
