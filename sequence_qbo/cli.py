"""`sequence-qbo`: the operator's command line. Each command group lives in its own module under
`sequence_qbo/commands/` and registers itself; this module only assembles them."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from qbo import errors as qbo_errors
from sequence_qbo import settings as settings_mod
from sequence_qbo.errors import CliError
from store.db import StoreUnavailable

__all__ = ["COMMANDS", "CliError", "build_parser", "main"]

# Command modules, in the order `--help` lists them.
COMMANDS = (
    "sequence_qbo.commands.run",
    "sequence_qbo.commands.status",
    "sequence_qbo.commands.paid",
    "sequence_qbo.commands.replay",
    "sequence_qbo.commands.dlq",
    "sequence_qbo.commands.serve",
    "sequence_qbo.commands.db",
    "sequence_qbo.commands.topics",
    "sequence_qbo.commands.customers",
    "sequence_qbo.commands.products",
    "sequence_qbo.commands.accounts",
    "sequence_qbo.commands.tax",
    "sequence_qbo.commands.settings",
    "sequence_qbo.commands.connect",
    "sequence_qbo.commands.sandbox",
    "sequence_qbo.commands.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sequence-qbo",
        description="Keeps Sequence billing and QuickBooks Online in sync through Kafka. "
        "Configuration comes from SEQUENCE_QBO_* environment variables (see README).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # one line per Schema Registry request is noise, not news
        for noisy in ("httpx", "httpx2", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        settings = settings_mod.load()
    except ValidationError as exc:
        problems = "; ".join(f"{_variable(e['loc'])}: {e['msg']}" for e in exc.errors())
        print(f"sequence-qbo: invalid configuration: {problems}", file=sys.stderr)
        return 2
    try:
        code: int = args.func(args, settings)
    except CliError as exc:
        print(f"sequence-qbo: {exc}", file=sys.stderr)
        return 2
    except qbo_errors.ConfigError as exc:
        print(f"sequence-qbo: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(
            f"sequence-qbo: PostgreSQL is unavailable (SEQUENCE_QBO_DATABASE_URL; "
            f"`make infra-up` starts one): {exc}",
            file=sys.stderr,
        )
        return 3
    except KeyboardInterrupt:
        return 130
    return code


def _variable(loc: tuple[int | str, ...]) -> str:
    """The environment variable behind a settings field (topics have their own prefix)."""
    parts = [str(p).upper() for p in loc]
    if parts[:1] == ["TOPICS"]:
        parts[0] = "TOPIC"
    return "SEQUENCE_QBO_" + "_".join(parts)


if __name__ == "__main__":
    sys.exit(main())
