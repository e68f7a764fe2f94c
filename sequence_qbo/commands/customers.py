"""`sequence-qbo customers list|link|create|suggest|import`: Sequence customers and their QBO
customers (docs/qbo-mapping.md#customers)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from sequence_qbo import wiring
from sequence_qbo.commands import _common
from sequence_qbo.settings import Settings
from store import customers
from sync import customers as service
from sync import import_, suggest
from sync.customers import LinkResult


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("customers", help="Sequence customers and their QBO links")
    cmds = group.add_subparsers(dest="customers_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="stored customer snapshots")
    ls.add_argument("--account", help="only this Sequence account")
    ls.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    _common.json_arg(ls)
    ls.set_defaults(func=_list)
    link = _customer_parser(cmds, "link", "link a Sequence customer to an existing QBO customer")
    link.add_argument("--qbo-customer", required=True, help="the QBO customer id")
    link.add_argument("--currency", help="the currency you expect the QBO customer to bill in")
    link.set_defaults(func=_common.reporting(_link))
    create = _customer_parser(cmds, "create", "create the QBO customer from the snapshot")
    create.add_argument("--currency", help="required when multi-currency is on; immutable later")
    create.set_defaults(func=_common.reporting(_create))
    hint = _customer_parser(cmds, "suggest", "QBO customers that look like this one")
    _common.json_arg(hint)
    hint.set_defaults(func=_common.reporting(_suggest))
    imp = cmds.add_parser("import", help="import customers from QBO (publishes customer.imported)")
    _common.account_arg(imp)
    imp.add_argument(
        "--report-dir",
        type=Path,
        default=Path("."),
        help="where the CSV and JSON reports of rejected customers go (default .)",
    )
    imp.set_defaults(func=_common.reporting(_import))


def _customer_parser(
    cmds: argparse._SubParsersAction, name: str, text: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = cmds.add_parser(name, help=text)
    _common.account_arg(parser)
    parser.add_argument("--customer", required=True, help="the Sequence customer id")
    return parser


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with wiring.database(settings) as db:
        rows = customers.list_snapshots(db, args.account, args.limit)
    _common.listing(
        args,
        f"{len(rows)} stored customer snapshot(s)",
        (
            "account",
            "customer",
            "legal name",
            "email",
            "country",
            "tax status",
            "QBO customer",
            "updated",
        ),
        (
            (
                r["account_id"],
                r["customer_id"],
                r["snapshot"]["legal_name"],
                r["snapshot"]["email"],
                r["snapshot"]["address"]["country"],
                r["snapshot"]["tax_status"],
                r["qbo_customer_id"],
                r["updated_at"],
            )
            for r in rows
        ),
    )
    return 0


def _link(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        result = service.link_customer(
            d.db,
            d.client(args.account),
            d.pub,
            args.account,
            args.customer,
            args.qbo_customer,
            expected_currency=args.currency,
        )
    _linked(result, "linked to")
    return 0


def _create(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        result = service.create_customer(
            d.db, d.client(args.account), d.pub, args.account, args.customer, currency=args.currency
        )
    _linked(result, "created in QBO as")
    return 0


def _linked(result: LinkResult, verb: str) -> None:
    link = result.link
    _common.say(
        f"Sequence customer {link.customer_id} {verb} QBO customer "
        f"{link.qbo_customer_id} ({result.qbo_customer.get('DisplayName', '')}, "
        f"{link.currency}); {len(result.resynced)} waiting document(s) sent to re-sync"
    )


def _suggest(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        found = suggest.suggest_customers(d.db, d.client(args.account), args.account, args.customer)
    _common.listing(
        args,
        f"{len(found)} candidate QBO customer(s) for {args.customer}",
        ("QBO id", "display name", "company", "email", "currency", "matched on", "linked to"),
        (
            (
                c.qbo_customer["id"],
                c.qbo_customer["name"],
                c.qbo_customer["company_name"],
                c.qbo_customer["email"],
                c.qbo_customer["currency"],
                ", ".join(c.matched_on),
                c.linked_to,
            )
            for c in found
        ),
    )
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with _common.deps(settings) as d, Progress(*columns) as bar:
        task = bar.add_task("importing QBO customers", total=None)
        result = import_.import_customers(
            d.db,
            d.client(args.account),
            d.pub,
            args.account,
            args.report_dir,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    counts = result.counts()
    _common.say(
        f"{counts['imported']} imported, {counts['skipped']} already linked, "
        f"{counts['rejected']} rejected ({counts['normalised']} countries normalised) "
        f"of {counts['scanned']}; report: {result.report_csv} and {result.report_json}"
    )
    return 0
