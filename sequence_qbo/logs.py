"""Structured logs: one JSON object per line, for the log pipeline of wherever `run` is deployed.

Context (event id, account, realm) comes from `extra=` on the log call. Only whitelisted fields
are emitted, so a payload or a token passed by mistake never reaches the logs.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

CONTEXT_FIELDS = ("event_id", "account_id", "realm_id", "topic", "partition", "offset")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def use_json(level: int = logging.INFO) -> None:
    """Replaces the root handlers with one writing JSON lines to stderr."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
