"""`sequence-qbo serve` start-up (the command module alone: the app and uvicorn are stubbed)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from sequence_qbo.cli import CliError
from sequence_qbo.commands import serve
from sequence_qbo.settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers(dest="command", required=True))
    return parser


class _App:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __enter__(self) -> _App:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(serve.wiring, "Application", _App)
    monkeypatch.setattr(serve, "build_app", lambda app: "the-app")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    return seen


def test_serve_listens_where_the_flags_say(served: dict[str, Any]) -> None:
    args = _parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9123"])
    assert args.func(args, Settings(api_host="127.0.0.1", api_port=8000)) == 0
    assert (served["app"], served["host"], served["port"]) == ("the-app", "0.0.0.0", 9123)
    assert served["access_log"] is False  # callbacks carry codes and states


def test_serve_defaults_to_the_environment(served: dict[str, Any]) -> None:
    args = _parser().parse_args(["serve"])
    args.func(args, Settings(api_host="127.0.0.2", api_port=8100))
    assert (served["host"], served["port"]) == ("127.0.0.2", 8100)


def test_serve_refuses_a_port_out_of_range(served: dict[str, Any]) -> None:
    args = _parser().parse_args(["serve", "--port", "70000"])
    with pytest.raises(CliError, match="--port must be between 1 and 65535"):
        args.func(args, Settings())


def test_serve_is_a_registered_cli_command() -> None:
    from sequence_qbo import cli

    assert "sequence_qbo.commands.serve" in cli.COMMANDS
