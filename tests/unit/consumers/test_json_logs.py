"""The JSON log formatter: context fields from `extra=`, nothing else from the record."""

from __future__ import annotations

import json
import logging

from sequence_qbo.logs import JsonFormatter


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "consumers.x", logging.WARNING, __file__, 1, "retry %d of %s", (2, "t[0]@5"), None
    )
    record.__dict__.update(extra)
    return record


def test_a_line_carries_the_event_account_and_realm() -> None:
    line = JsonFormatter().format(_record(event_id="e1", account_id="acct_1", realm_id="9341"))
    out = json.loads(line)
    assert out["message"] == "retry 2 of t[0]@5"
    assert out["level"] == "WARNING"
    assert (out["event_id"], out["account_id"], out["realm_id"]) == ("e1", "acct_1", "9341")
    assert out["ts"].endswith("+00:00")


def test_unknown_extras_such_as_tokens_are_never_written() -> None:
    out = json.loads(JsonFormatter().format(_record(access_token="secret", payload={"a": 1})))
    assert "secret" not in json.dumps(out)
    assert "payload" not in out


def test_exceptions_are_included() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record()
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["exception"]
