"""What the set-up commands (customers, products, accounts, tax, settings) share: building the
service dependencies, printing tables, and reporting a `ServiceError` as one sentence with a
meaningful exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from sequence_qbo import wiring
from sequence_qbo.settings import Settings
from sync import deps as deps_mod
from sync.errors import ServiceError

Command = Callable[[argparse.Namespace, Settings], int]


@contextmanager
def deps(settings: Settings) -> Iterator[deps_mod.Deps]:
    """Database, QBO clients (built on first use: commands that only read the database run
    without a token encryption key) and Kafka publishing; all closed on exit."""
    with wiring.Application(settings) as app:
        yield app.services


def reporting(command: Command) -> Command:
    """Runs a command; a `ServiceError` prints one sentence and exits with its code."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return command(args, settings)
        except ServiceError as exc:
            print(f"sequence-qbo: {exc.message} [{exc.reason}]", file=sys.stderr)
            return exc.exit_code

    return run


def account_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True, help="the Sequence account id")


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    out = Table(*columns, title=title)
    for row in rows:
        out.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(out)


def say(text: str) -> None:
    Console().print(text, highlight=False)
