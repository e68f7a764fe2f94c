"""Time as QBO reports it, with an offset that tests can advance (token expiry, CDC window)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo

try:
    from zoneinfo import ZoneInfo

    # QBO stamps MetaData in Pacific time whatever the company's country
    # ("CreateTime": "2015-07-24T10:35:08-07:00" in Intuit's sample company).
    PACIFIC: tzinfo = ZoneInfo("America/Los_Angeles")
except Exception:  # pragma: no cover - no tz database on the host
    PACIFIC = UTC


class Clock:
    """Wall clock plus an adjustable offset; the only source of "now" in the emulator."""

    def __init__(self) -> None:
        self.offset = 0.0

    def timestamp(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), PACIFIC)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def meta_time(dt: datetime) -> str:
    """MetaData format: seconds precision with the offset, e.g. 2015-07-24T10:35:08-07:00."""
    return dt.astimezone(PACIFIC).replace(microsecond=0).isoformat()


def response_time(dt: datetime) -> str:
    """The top-level `time` of a response carries milliseconds: 2013-11-15T15:25:09.985-08:00."""
    return dt.astimezone(PACIFIC).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    """Parse an ISO-8601 instant as clients send it (changedSince, LastUpdatedTime queries)."""
    value = text.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PACIFIC)
    return parsed


def days_ago(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)
