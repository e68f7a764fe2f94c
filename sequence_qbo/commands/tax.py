"""`sequence-qbo tax-codes list` and `sequence-qbo tax map|unmap|list`.

The tax rules: docs/qbo-mapping.md#tax-codes.
"""

from __future__ import annotations

import argparse

from sequence_qbo.commands import _common
from sequence_qbo.settings import Settings
from sync import tax as service


def register(sub: argparse._SubParsersAction) -> None:
    codes = sub.add_parser("tax-codes", help="the QBO company's tax codes")
    code_cmds = codes.add_subparsers(dest="tax_codes_command", metavar="ACTION", required=True)
    ls = code_cmds.add_parser("list", help="active tax codes")
    _common.account_arg(ls)
    _common.json_arg(ls)
    ls.set_defaults(func=_common.reporting(_codes))
    group = sub.add_parser("tax", help="Sequence tax categories → QBO tax codes")
    cmds = group.add_subparsers(dest="tax_command", metavar="ACTION", required=True)
    mapping = cmds.add_parser("map", help="map a tax category to a tax code")
    _common.account_arg(mapping)
    mapping.add_argument("--category", required=True, help="the Sequence tax category id")
    mapping.add_argument("--tax-code", required=True, help="the QBO tax code id")
    mapping.set_defaults(func=_common.reporting(_map))
    unmap = cmds.add_parser("unmap", help="remove a tax category's mapping")
    _common.account_arg(unmap)
    unmap.add_argument("--category", required=True, help="the Sequence tax category id")
    unmap.set_defaults(func=_common.reporting(_unmap))
    mapped = cmds.add_parser("list", help="the tax category mappings")
    _common.account_arg(mapped)
    _common.json_arg(mapped)
    mapped.set_defaults(func=_common.reporting(_list))


def _codes(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        rows = service.tax_codes(d.client(args.account))
    _common.listing(
        args,
        f"{len(rows)} tax code(s)",
        ("id", "name", "description", "taxable", "group"),
        ((c["id"], c["name"], c["description"], c["taxable"], c["group"]) for c in rows),
    )
    return 0


def _map(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        service.map_tax_category(
            d.db, d.client(args.account), args.account, args.category, args.tax_code
        )
    _common.say(f"tax category {args.category} → QBO tax code {args.tax_code}")
    return 0


def _unmap(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        service.unmap_tax_category(d.db, args.account, args.category)
    _common.say(f"tax category {args.category} is no longer mapped")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        rows = service.tax_mappings(d.db, args.account)
    _common.listing(
        args,
        f"{len(rows)} mapped tax categor(y/ies)",
        ("tax category", "QBO tax code"),
        sorted(rows.items()),
    )
    return 0
