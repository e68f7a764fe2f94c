"""What the set-up commands (customers, products, accounts, tax, settings) share: building the
service dependencies, printing tables, and reporting a `ServiceError` as one sentence with a
meaningful exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
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


def input_topics(settings: Settings) -> list[str]:
    """The topics `run` consumes (`wiring.Application.handlers`), known from the settings
    alone: a wrong --topic or --only is reported before anything else is set up
    (a database or a key missing is another problem)."""
    t = settings.topics
    return [
        t.customer_updated,
        t.invoice_finalized,
        t.invoice_sent,
        t.invoice_voided,
        t.credit_note_sent,
        t.resync,
        t.qbo_changes,
    ]


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


def json_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON array of objects (one per row; keys are the column names in "
        "snake_case, empty values null) instead of the table",
    )


def key(column: str) -> str:
    """A column's JSON key: "QBO customer" → "qbo_customer"."""
    return re.sub(r"[^0-9a-z]+", "_", column.lower()).strip("_")


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def jsonable_dict(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in values.items()}


def print_json(records: Iterable[Mapping[str, Any]]) -> None:
    """One JSON array on stdout (scripts read it whole: `| jq '.[]'`)."""
    data = [{k: jsonable(v) for k, v in r.items()} for r in records]
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def listing(
    args: argparse.Namespace,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """The rows as a table, or with `--json` as one JSON array of objects (raw values: None
    stays null, dates are ISO 8601)."""
    materialised = [tuple(row) for row in rows]
    if getattr(args, "json", False):
        print_json(dict(zip(map(key, columns), row, strict=True)) for row in materialised)
        return
    table(title, columns, materialised)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    out = Table(title=title)
    for column in columns:
        out.add_column(column, overflow="fold")  # wrapped when narrow, never cut to "…"
    for row in rows:
        out.add_row(*("" if cell is None else _text(cell) for cell in row))
    console().print(out)


def never_cut(table: Table) -> Table:
    """Every cell of `table` wraps (folds) when narrow instead of ending in "…"."""
    for column in table.columns:
        column.overflow = "fold"
    return table


def _text(cell: Any) -> str:
    if isinstance(cell, dt.datetime):
        return cell.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(cell)


def console() -> Console:
    """The terminal's width on a terminal; in a pipe or a CI log (80 columns by default)
    tables take the width they need, so an id or an email is never cut."""
    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=WIDE)


# Width for output that is not a terminal: a table is as wide as its content, up to this.
WIDE = 10_000


def say(text: str) -> None:
    Console().print(text, highlight=False)
