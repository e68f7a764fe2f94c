"""List output for people and scripts: ids and emails are never cut (a pipe or a CI log gets 80
columns), every list takes --json (one JSON array), and replay's --from-beginning and topic check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from rich.console import Console

from sequence_qbo import cli
from sequence_qbo.commands import _common

ID = "cus_9b3f6a1e-4d2c-4f8e-9a7b-2c1d0e9f8a7b"
EMAIL = "accounts.payable.department@a-very-long-company-name.example.com"
COLUMNS = ("account", "customer", "legal name", "email", "QBO customer", "updated")
ROW = ("acct_5f2e9c1b7d", ID, "Ünïcode & Sons Trading Company Limited", EMAIL, None, "2026-11-30")


def test_a_table_in_a_pipe_keeps_every_id_and_email_whole(monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # what a CI log or a pipe reports
    _common.table("customers", COLUMNS, [ROW])
    out = capsys.readouterr().out
    assert ID in out and EMAIL in out and "acct_5f2e9c1b7d" in out
    assert "…" not in out


def test_on_a_narrow_terminal_cells_fold_instead_of_being_cut(monkeypatch) -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, width=80, force_terminal=True, color_system=None)
    monkeypatch.setattr(_common, "console", lambda: terminal)
    _common.table("customers", COLUMNS, [ROW])
    out = buffer.getvalue()
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    # Folded, every character is still there.
    letters = "".join(ch for ch in out if ch.isalnum())
    assert all(ch in letters for ch in ID if ch.isalnum())


def test_json_is_one_array_of_objects_with_raw_values(capsys) -> None:
    when = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)
    args = argparse.Namespace(json=True)
    rows = [("acct_1", ID, None, EMAIL, "42", when), ("acct_2", "cus_2", "B", None, None, when)]
    _common.listing(args, "ignored", COLUMNS, rows)
    data = json.loads(capsys.readouterr().out)
    assert data[0] == {
        "account": "acct_1",
        "customer": ID,
        "legal_name": None,
        "email": EMAIL,
        "qbo_customer": "42",
        "updated": "2026-11-30T07:00:00+00:00",
    }
    assert len(data) == 2
    assert _common.jsonable(Decimal("12.30")) == "12.30"


def _subcommand(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize(
    "path",
    [
        ("customers", "list"),
        ("customers", "suggest"),
        ("products", "list"),
        ("tax", "list"),
        ("tax-codes", "list"),
        ("accounts", "list"),
        ("connections", "list"),
        ("dlq", "list"),
        ("paid", "list"),
    ],
)
def test_every_list_takes_json_and_says_it_is_one_array(path: tuple[str, ...]) -> None:
    parser = _subcommand(cli.build_parser(), *path)
    [option] = [a for a in parser._actions if "--json" in a.option_strings]
    assert "one JSON array" in (option.help or "")


def test_settings_get_json_is_one_object() -> None:
    parser = _subcommand(cli.build_parser(), "settings", "get")
    [option] = [a for a in parser._actions if "--json" in a.option_strings]
    assert "one JSON object" in (option.help or "")


def test_an_unknown_replay_topic_is_reported_before_configuration_problems(
    monkeypatch, capsys
) -> None:
    # No database reachable and no token encryption key: neither is what is wrong here.
    monkeypatch.setenv("SEQUENCE_QBO_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert cli.main(["replay", "--topic", "invoices.typo", "--from-beginning"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sequence-qbo: not an input topic: invoices.typo (input topics: ")
    assert "customer.updated" in err and "PostgreSQL" not in err


def test_replay_starts_from_a_time_or_the_beginning_not_both(capsys) -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["replay", "--topic", "t", "--from-beginning"])
    assert args.from_beginning and args.since is None
    for argv in (["--from", "2026-01-01", "--from-beginning"], []):
        with pytest.raises(SystemExit):
            parser.parse_args(["replay", "--topic", "t", *argv])
    assert "--from-beginning" in capsys.readouterr().err


def test_run_reports_an_unknown_only_topic_before_configuration_problems(
    monkeypatch, capsys
) -> None:
    monkeypatch.setenv("SEQUENCE_QBO_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert cli.main(["run", "--text-logs", "--no-metrics", "--only", "invoice.sent", "typo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sequence-qbo: not an input topic: typo (input topics: ")


def test_status_tables_fold_ids_instead_of_cutting_them() -> None:
    from rich.table import Table

    table = Table("account", "id", "message")
    table.add_row("acct_5f2e9c1b7d", ID, "a sentence " * 30)
    buffer = io.StringIO()
    Console(file=buffer, width=60, color_system=None).print(_common.never_cut(table))
    assert "…" not in buffer.getvalue()
