"""`sequence-qbo products list|map|link|fallback`: Sequence products → QBO items.

See docs/qbo-mapping.md#products-and-items.
"""

from __future__ import annotations

import argparse

from sequence_qbo.commands import _common
from sequence_qbo.settings import Settings
from sync import products as service


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("products", help="Sequence products and their QBO items")
    cmds = group.add_subparsers(dest="products_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="product → item mappings")
    _common.account_arg(ls)
    _common.json_arg(ls)
    ls.set_defaults(func=_common.reporting(_list))
    new = _product(cmds, "map", "create a QBO Service item for a product and map it")
    new.add_argument("--name", required=True, help="the product's name (the item's, ≤ 100)")
    new.add_argument(
        "--income-account", required=True, help="QBO income account id (see `accounts list`)"
    )
    new.set_defaults(func=_common.reporting(_map))
    link = _product(cmds, "link", "map a product to an existing QBO item")
    link.add_argument("--item", required=True, help="the QBO item id")
    link.set_defaults(func=_common.reporting(_link))
    fallback = cmds.add_parser("fallback", help="create the item unmapped products use")
    _common.account_arg(fallback)
    fallback.add_argument("--name", default="Sequence billing", help="the item's name")
    fallback.add_argument("--income-account", required=True, help="QBO income account id")
    fallback.set_defaults(func=_common.reporting(_fallback))


def _product(cmds: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = cmds.add_parser(name, help=text)
    _common.account_arg(parser)
    parser.add_argument("--product", required=True, help="the Sequence product id")
    return parser


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        rows = service.product_mappings(d.db, args.account)
    _common.listing(
        args,
        f"{len(rows)} mapped product(s)",
        ("product", "QBO item", "item name", "origin", "realm"),
        (
            (r["product_id"], r["qbo_item_id"], r["item_name"], r["origin"], r["realm_id"])
            for r in rows
        ),
    )
    return 0


def _map(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        row = service.map_product(
            d.db, d.client(args.account), args.account, args.product, args.name, args.income_account
        )
    _common.say(f"product {args.product} → new QBO item {row['qbo_item_id']} ({row['item_name']})")
    return 0


def _link(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        row = service.link_product(
            d.db, d.client(args.account), args.account, args.product, args.item
        )
    _common.say(f"product {args.product} → QBO item {row['qbo_item_id']} ({row['item_name']})")
    return 0


def _fallback(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        item = service.create_fallback_item(
            d.db, d.client(args.account), args.account, args.name, args.income_account
        )
    _common.say(f"fallback item {item['id']} ({item['name']}) created and set")
    return 0
