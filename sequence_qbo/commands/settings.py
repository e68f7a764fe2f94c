"""`sequence-qbo settings get|set`: per-account settings, checked against the QBO company."""

from __future__ import annotations

import argparse
import json
import sys

from sequence_qbo.commands import _common
from sequence_qbo.settings import Settings
from sync import settings as service
from sync.errors import Invalid


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("settings", help="per-account settings")
    cmds = group.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    get = cmds.add_parser("get", help="show an account's settings")
    _common.account_arg(get)
    _json_object_arg(get)
    get.set_defaults(func=_common.reporting(_get))
    put = cmds.add_parser("set", help="change settings: NAME=VALUE … (empty VALUE clears)")
    _common.account_arg(put)
    put.add_argument(
        "pairs", nargs="+", metavar="NAME=VALUE", help=f"settings: {', '.join(service.NAMES)}"
    )
    _json_object_arg(put)
    put.set_defaults(func=_common.reporting(_set))


def _json_object_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the settings as one JSON object (setting → value) instead of the table",
    )


def _get(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        current = service.get_settings(d.db, args.account)
    _show(args, current.as_dict())
    return 0


def _set(args: argparse.Namespace, settings: Settings) -> int:
    changes = dict(_pair(text) for text in args.pairs)
    with _common.deps(settings) as d:
        updated = service.update_settings(
            d.db, lambda: d.client(args.account), args.account, changes
        )
    _show(args, updated.as_dict())
    return 0


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise Invalid("invalid_argument", f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def _show(args: argparse.Namespace, values: dict[str, object]) -> None:
    if args.json:
        shown = {"account_id": values["account_id"], **{n: values[n] for n in service.NAMES}}
        sys.stdout.write(json.dumps(_common.jsonable_dict(shown), indent=2) + "\n")
        return
    _common.table(
        f"settings of account {values['account_id']}",
        ("setting", "value"),
        ((name, values[name]) for name in service.NAMES),
    )
