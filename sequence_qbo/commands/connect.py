"""`sequence-qbo connect | connections list | disconnect`: QBO connections per account.

An account connected to one QBO company is not moved to another by accident: connecting it to a
different company is refused (exit 5) unless `--new-company` says so, which archives the old
company's links, mappings and document references. A company connected to another account is
refused too (exit 5): a QBO company belongs to one account.
"""

from __future__ import annotations

import argparse
import sys

from qbo import errors
from qbo.callback import CallbackReceiver, parse_callback
from qbo.connection import ClientFactory
from sequence_qbo import wiring
from sequence_qbo.commands import _common
from sequence_qbo.errors import CliError
from sequence_qbo.qbo_store import client_factory
from sequence_qbo.settings import Settings
from store import connections
from store.connections import CompanyChangeRefused, RealmChange, RealmHeld
from store.db import Database
from sync import connect as flow

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
    ls = cmds.add_parser("list", help="every account's connection")
    _common.json_arg(ls)
    ls.set_defaults(func=_list)
    d = sub.add_parser("disconnect", help="revoke an account's QBO tokens and forget them")
    d.add_argument("--account", required=True)
    d.set_defaults(func=_disconnect)


def _factory(settings: Settings, db: Database) -> ClientFactory[RealmChange]:
    try:
        return client_factory(settings, db)
    except errors.ConfigError as exc:
        raise CliError(str(exc)) from None


def _connect(args: argparse.Namespace, settings: Settings) -> int:
    """The same flow as the admin API's (`sync.connect`): a state stored hashed for 10 minutes,
    used up by the callback; only the listener (or the pasted URL) is the CLI's own."""
    with wiring.database(settings) as db:
        factory = _factory(settings, db)
        try:
            auth = flow.begin(db, factory, args.account, new_company=args.new_company)
            if args.paste:
                print(
                    f"Open this URL, approve, then paste the address you land on:\n{auth.url}",
                    flush=True,
                )
                callback = parse_callback(input("> ").strip(), auth.state)
            else:
                with CallbackReceiver(settings.qbo_redirect_uri, auth.state) as receiver:
                    print(
                        f"Open this URL in a browser and approve the connection:\n{auth.url}",
                        flush=True,
                    )
                    callback = receiver.wait(min(args.timeout, flow.STATE_TTL.total_seconds()))
            done = flow.finish(
                db,
                factory,
                {"state": auth.state, "code": callback.code, "realmId": callback.realm_id},
            )
        except flow.ConnectFailed as exc:
            return _failed(exc)
        except errors.QboError as exc:
            raise CliError(str(exc)) from None
        finally:
            factory.close()
    name = f" ({done.company_name})" if done.company_name else ""
    print(f"account {args.account} is connected to QBO company (realm) {done.realm_id}{name}")
    if done.change is not None:
        print(_moved(done.change))
    return 0


def _failed(exc: flow.ConnectFailed) -> int:
    """A refused connection (exit 5, with the way out); other failures are exit 2."""
    if exc.reason not in (CompanyChangeRefused.reason, RealmHeld.reason):
        raise CliError(f"{exc.message} [{exc.reason}]")
    hint = ""
    if exc.reason == CompanyChangeRefused.reason:
        hint = (
            f". To move it, run `sequence-qbo connect --account {exc.account_id} --new-company` "
            "and choose that company again"
        )
    print(f"sequence-qbo: {exc.message}{hint} [{exc.reason}]", file=sys.stderr)
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
    _common.listing(
        args,
        f"{len(rows)} connection(s)",
        (
            "account",
            "realm",
            "company",
            "environment",
            "status",
            "status reason",
            "access token expires",
            "refresh token expires",
            "last refresh",
        ),
        (
            (
                row["account_id"],
                row["realm_id"],
                row["company_name"],
                row["environment"],
                row["status"],
                row["status_reason"],
                row["access_expires_at"],
                row["refresh_expires_at"],
                row["refreshed_at"],
            )
            for row in rows
        ),
    )
    return 0


def _disconnect(args: argparse.Namespace, settings: Settings) -> int:
    with wiring.database(settings) as db:
        factory = _factory(settings, db)
        try:
            done = flow.disconnect(factory, args.account)
        finally:
            factory.close()
    if done is None:
        raise CliError(f"account {args.account} has no QBO connection")
    revoked = "revoked at Intuit" if done.revoked else "not confirmed revoked by Intuit (see log)"
    print(f"account {args.account} is disconnected from QBO (tokens {revoked} and deleted)")
    return 0
