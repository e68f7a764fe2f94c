"""The CLI answers bad configuration with one sentence naming the variable, and exit code 2."""

from __future__ import annotations

import pytest

from sequence_qbo import cli


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SEQUENCE_QBO_TOPIC_PARTITIONS", "0"),
        ("SEQUENCE_QBO_QBO_ENVIRONMENT", "prod"),
    ],
)
def test_invalid_setting_names_its_variable(monkeypatch, capsys, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    assert cli.main(["status"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sequence-qbo: invalid configuration: {name}:")
    assert "Traceback" not in err and "errors.pydantic.dev" not in err


def test_a_topic_variable_is_named_with_its_own_prefix() -> None:
    assert cli._variable(("topics", "invoice_paid")) == "SEQUENCE_QBO_TOPIC_INVOICE_PAID"


def test_unknown_command_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["no-such-command"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
