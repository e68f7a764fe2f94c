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

from qbo.client import QboClient
from qbo.connection import ClientFactory
from sequence_qbo import wiring
from sequence_qbo.settings import Settings
from store.db import Database
from sync import deps as deps_mod
from sync.errors import ServiceError
from sync.outbox import kafka_publishing

Command = Callable[[argparse.Namespace, Settings], int]


class _LazyClients:
    """Builds the client factory on first use: commands that only read the database then run
    without a token encryption key."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings, self.db = settings, db
        self.factory: ClientFactory | None = None

    def __call__(self, account_id: str) -> QboClient:
        if self.factory is None:
            self.factory = ClientFactory(self.settings, self.db)
        return self.factory.for_account(account_id)[1]


@contextmanager
def deps(settings: Settings) -> Iterator[deps_mod.Deps]:
    """Database, QBO clients (through the stored connections) and a Kafka outbox."""
    with wiring.database(settings) as db:
        clients = _LazyClients(settings, db)
        pub = kafka_publishing(settings, wiring.serde(settings))
        try:
            yield deps_mod.Deps(db, clients, pub)
        finally:
            if clients.factory is not None:
                clients.factory.close()


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
