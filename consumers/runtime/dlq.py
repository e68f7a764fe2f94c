"""Dead-letter records: the original key and bytes, with headers saying where they came from
and why they could not be processed (PRODUCT.md §2)."""

from __future__ import annotations

import datetime as dt

from consumers.runtime.types import Message

HEADER_SOURCE_TOPIC = "dlq.source.topic"
HEADER_SOURCE_PARTITION = "dlq.source.partition"
HEADER_SOURCE_OFFSET = "dlq.source.offset"
HEADER_ERROR_CLASS = "dlq.error.class"
HEADER_REASON = "dlq.reason"
HEADER_ATTEMPTS = "dlq.attempts"
HEADER_FIRST_FAILURE = "dlq.first.failure"


def dlq_headers(
    message: Message, *, error_class: str, reason: str, attempts: int, first_failure: dt.datetime
) -> list[tuple[str, str | bytes | None]]:
    """Headers of the dead-letter copy of `message`; the original headers are kept after them."""
    ours = [
        (HEADER_SOURCE_TOPIC, message.topic),
        (HEADER_SOURCE_PARTITION, str(message.partition)),
        (HEADER_SOURCE_OFFSET, str(message.offset)),
        (HEADER_ERROR_CLASS, error_class),
        (HEADER_REASON, reason[:4000]),
        (HEADER_ATTEMPTS, str(attempts)),
        (HEADER_FIRST_FAILURE, first_failure.astimezone(dt.UTC).isoformat()),
    ]
    originals = [(k, v) for k, v in message.headers if not k.startswith("dlq.")]
    return [*((k, v.encode()) for k, v in ours), *originals]


def parse_dlq_headers(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    """The dlq.* headers of a dead-letter record as text."""
    return {k: v.decode("utf-8", "replace") for k, v in headers or [] if k.startswith("dlq.")}
