"""`sequence-qbo serve` start-up checks (the command module alone: no services needed)."""

from __future__ import annotations

import argparse

import pytest
from pydantic import SecretStr

from sequence_qbo.cli import CliError
from sequence_qbo.commands import serve
from sequence_qbo.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.mark.parametrize("token", [None, ""])
def test_serve_refuses_to_start_without_a_verifier_token(token: str | None) -> None:
    args = _parser().parse_args(["serve"])
    with pytest.raises(CliError) as raised:
        secret = None if token is None else SecretStr(token)
        args.func(args, Settings(webhook_verifier_token=secret))
    message = str(raised.value)
    assert "SEQUENCE_QBO_WEBHOOK_VERIFIER_TOKEN is not set" in message
    assert message.count(". ") == 0 and "\n" not in message  # one sentence


def test_serve_is_a_registered_cli_command() -> None:
    from sequence_qbo import cli

    assert "sequence_qbo.commands.serve" in cli.COMMANDS
