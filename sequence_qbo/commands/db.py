"""`sequence-qbo db migrate`."""

from __future__ import annotations

import argparse

from sequence_qbo.errors import CliError
from sequence_qbo.settings import Settings
from store.db import StoreUnavailable
from store.migrate import migrate


def register(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database administration")
    cmds = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    m = cmds.add_parser("migrate", help="apply pending migrations (safe to run concurrently)")
    m.set_defaults(func=_migrate)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        applied = migrate(settings.database_url.get_secret_value())
    except StoreUnavailable as exc:
        raise CliError(f"cannot reach PostgreSQL (SEQUENCE_QBO_DATABASE_URL): {exc}") from exc
    print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return 0
