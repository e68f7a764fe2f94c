"""`sequence-qbo connect | connections list | disconnect`: QBO connections per account.

An account connected to one QBO company is not moved to another by accident: connecting it to a
different company is refused (exit 5) unless `--new-company` says so, which archives the old
company's links, mappings and document references. A company connected to another account is
refused too (exit 5): a QBO company belongs to one account.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import sys

from rich.console import Console
from rich.table import Table

from qbo import errors
from qbo.callback import CallbackReceiver, parse_callback
from qbo.connection import ClientFactory
from sequence_qbo import wiring
from sequence_qbo.errors import CliError
from sequence_qbo.qbo_store import client_factory
from sequence_qbo.settings import Settings
from store import connections
from store.connections import CompanyChangeRefused, ConnectRefused, RealmChange
from store.db import Database

# README "Exit codes": 5 is a conflict with what is stored.
EXIT_CONFLICT = 5


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("connect", help="connect an account to a QuickBooks company (OAuth 2.0)")
    c.add_argument("--account", required=True, help="the Sequence account id")
    c.add_argument("--timeout", type=float, default=600, help="seconds to wait for the browser")
    c.add_argument(
        "--paste",
        action="store_true",
        help="paste the URL the browser was redirected to, instead of listening on "
        "the redirect URI (for a redirect URI that is not this machine)",
    )
    c.add_argument(
        "--new-company",
        action="store_true",
        help="move an account already connected to one QBO company to another: the old "
        "company's customer links, item and tax mappings, fallback settings and document "
        "references are archived (kept for audit, never used again)",
    )
    c.set_defaults(func=_connect)
    group = sub.add_parser("connections", help="QBO connections")
    cmds = group.add_subparsers(dest="connections_command", metavar="ACTION", required=True)
    cmds.add_parser("list", help="every account's connection").set_defaults(func=_list)
    d = sub.add_parser("disconnect", help="revoke an account's QBO tokens and forget them")
    d.add_argument("--account", required=True)
    d.set_defaults(func=_disconnect)


def _factory(settings: Settings, db: Database) -> ClientFactory[RealmChange]:
    try:
        return client_factory(settings, db)
    except errors.ConfigError as exc:
        raise CliError(str(exc)) from None


def _connect(args: argparse.Namespace, settings: Settings) -> int:
    state = secrets.token_urlsafe(24)
    with wiring.database(settings) as db:
        factory = _factory(settings, db)
        try:
            if args.paste:
                print(
                    f"Open this URL, approve, then paste the address you land on:\n"
                    f"{factory.oauth.authorize_url(state)}",
                    flush=True,
                )
                callback = parse_callback(input("> ").strip(), state)
            else:
                with CallbackReceiver(settings.qbo_redirect_uri, state) as receiver:
                    print(
                        f"Open this URL in a browser and approve the connection:\n"
                        f"{factory.oauth.authorize_url(state)}",
                        flush=True,
                    )
                    callback = receiver.wait(args.timeout)
            change = factory.complete_connect(
                args.account, callback.code, callback.realm_id, new_company=args.new_company
            )
        except ConnectRefused as exc:
            return _refused(exc)
        except errors.QboError as exc:
            raise CliError(str(exc)) from None
        finally:
            factory.close()
    print(f"account {args.account} is connected to QBO company (realm) {callback.realm_id}")
    if change is not None:
        print(_moved(change))
    return 0


def _refused(exc: ConnectRefused) -> int:
    hint = ""
    if isinstance(exc, CompanyChangeRefused):
        hint = (
            f". To move it, run `sequence-qbo connect --account {exc.account_id} --new-company` "
            f"and choose company {exc.new_realm_id} again"
        )
    print(f"sequence-qbo: {exc}{hint} [{exc.reason}]", file=sys.stderr)
    return EXIT_CONFLICT


def _moved(change: RealmChange) -> str:
    origin = (
        f"moved from QBO company {change.old_realm_id}"
        if change.old_realm_id != change.new_realm_id
        else "what the account still held of other QBO companies is archived"
    )
    return (
        f"{origin}: archived {change.links} customer "
        f"link(s), {change.product_mappings} item and {change.tax_mappings} tax mapping(s), "
        f"{'the fallback settings, ' if change.settings else ''}"
        f"{change.ledger_refs} document reference(s). Link customers, map products and tax "
        f"and set the fallbacks for company {change.new_realm_id}; the documents sync into it "
        "on their next event, a replay or `sequence-qbo resync`"
    )


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with wiring.database(settings) as db:
        rows = connections.list_all(db)
    table = Table(
        "account",
        "realm",
        "environment",
        "status",
        "access token expires",
        "refresh token expires",
        "last refresh",
        title=f"{len(rows)} connection(s)",
    )
    for row in rows:
        status = row["status"] + (f" ({row['status_reason']})" if row["status_reason"] else "")
        table.add_row(
            row["account_id"],
            row["realm_id"] or "-",
            row["environment"],
            status,
            _when(row["access_expires_at"]),
            _when(row["refresh_expires_at"]),
            _when(row["refreshed_at"]),
        )
    Console().print(table)
    return 0


def _disconnect(args: argparse.Namespace, settings: Settings) -> int:
    with wiring.database(settings) as db:
        factory = _factory(settings, db)
        try:
            found = factory.disconnect(args.account)
        finally:
            factory.close()
    if not found:
        raise CliError(f"account {args.account} has no QBO connection")
    print(f"account {args.account} is disconnected from QBO (tokens revoked and deleted)")
    return 0


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"
