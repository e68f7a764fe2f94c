"""`sequence-qbo settings get|set`: per-account settings, checked against the QBO company."""

from __future__ import annotations

import argparse

from sequence_qbo.commands import _common
from sequence_qbo.settings import Settings
from sync import settings as service
from sync.errors import Invalid


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("settings", help="per-account settings")
    cmds = group.add_subparsers(dest="settings_command", metavar="ACTION", required=True)
    get = cmds.add_parser("get", help="show an account's settings")
    _common.account_arg(get)
    get.set_defaults(func=_common.reporting(_get))
    put = cmds.add_parser("set", help="change settings: NAME=VALUE … (empty VALUE clears)")
    _common.account_arg(put)
    put.add_argument(
        "pairs", nargs="+", metavar="NAME=VALUE", help=f"settings: {', '.join(service.NAMES)}"
    )
    put.set_defaults(func=_common.reporting(_set))


def _get(args: argparse.Namespace, settings: Settings) -> int:
    with _common.deps(settings) as d:
        current = service.get_settings(d.db, args.account)
    _show(current.as_dict())
    return 0


def _set(args: argparse.Namespace, settings: Settings) -> int:
    changes = dict(_pair(text) for text in args.pairs)
    with _common.deps(settings) as d:
        updated = service.update_settings(
            d.db, lambda: d.client(args.account), args.account, changes
        )
    _show(updated.as_dict())
    return 0


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise Invalid("invalid_argument", f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def _show(values: dict[str, object]) -> None:
    _common.table(
        f"settings of account {values['account_id']}",
        ("setting", "value"),
        ((name, values[name]) for name in service.NAMES),
    )
