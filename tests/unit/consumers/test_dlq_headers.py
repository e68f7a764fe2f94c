from __future__ import annotations

import datetime as dt

from consumers.runtime import dlq
from consumers.runtime.types import Message


def test_headers_name_the_source_and_the_reason() -> None:
    msg = Message("customer.updated", 2, 41, b"k", b"v", headers=(("trace", b"abc"),))
    first = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    headers = dlq.dlq_headers(
        msg,
        error_class="UnknownSchemaId",
        reason="unknown schema id 7",
        attempts=3,
        first_failure=first,
    )
    parsed = dlq.parse_dlq_headers(headers)
    assert parsed == {
        "dlq.source.topic": "customer.updated",
        "dlq.source.partition": "2",
        "dlq.source.offset": "41",
        "dlq.error.class": "UnknownSchemaId",
        "dlq.reason": "unknown schema id 7",
        "dlq.attempts": "3",
        "dlq.first.failure": "2026-11-25T10:00:00+00:00",
    }
    assert ("trace", b"abc") in headers  # the original headers travel along


def test_a_dead_letter_of_a_dead_letter_does_not_stack_headers() -> None:
    first = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    msg = Message("t", 0, 1, None, b"v", headers=(("dlq.reason", b"old"),))
    headers = dlq.dlq_headers(msg, error_class="E", reason="new", attempts=1, first_failure=first)
    assert [v for k, v in headers if k == "dlq.reason"] == [b"new"]
