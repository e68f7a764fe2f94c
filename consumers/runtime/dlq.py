"""Dead-letter records: the original key and bytes, with headers saying where they came from
and why they could not be processed (docs/events.md#dead-letters-sequence-qbodlq)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from uuid import uuid4

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka import Message as KafkaMessage

from consumers.runtime import kafka
from consumers.runtime.types import Message

HEADER_SOURCE_TOPIC = "dlq.source.topic"
HEADER_SOURCE_PARTITION = "dlq.source.partition"
HEADER_SOURCE_OFFSET = "dlq.source.offset"
HEADER_ERROR_CLASS = "dlq.error.class"
HEADER_REASON = "dlq.reason"
HEADER_ATTEMPTS = "dlq.attempts"
HEADER_FIRST_FAILURE = "dlq.first.failure"
HEADER_SOURCE_SIZE = "dlq.source.size"  # bytes of the original value, when the copy is truncated
HEADER_TRUNCATED = "dlq.value.truncated"

# librdkafka refuses to produce a record larger than its `message.max.bytes` (1,000,000 bytes by
# default) although the broker accepts larger ones (1,048,588 by default), so a record consumed
# whole may not be copyable whole. A copy keeps at most this much of the value, which leaves room
# for the key and the headers; the original stays in its source topic at the offset the headers
# name.
MAX_COPY_VALUE = 900_000


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


@dataclass(frozen=True)
class Copy:
    """The dead-letter record of a message."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, str | bytes | None]]
    truncated: bool


def dead_letter_copy(
    message: Message,
    *,
    error_class: str,
    reason: str,
    attempts: int,
    first_failure: dt.datetime,
    max_value: int = MAX_COPY_VALUE,
    original_headers: bool = True,
) -> Copy:
    """The copy of `message` for the DLQ: its key, its value (the first `max_value` bytes of a
    larger one, with the original size in `dlq.source.size`) and the dlq.* headers."""
    headers = dlq_headers(
        message,
        error_class=error_class,
        reason=reason,
        attempts=attempts,
        first_failure=first_failure,
    )
    if not original_headers:
        headers = [(k, v) for k, v in headers if k.startswith("dlq.")]
    value = message.value
    truncated = value is not None and len(value) > max_value
    if truncated:
        assert value is not None
        headers += [
            (HEADER_SOURCE_SIZE, str(len(value)).encode()),
            (HEADER_TRUNCATED, b"true"),
        ]
        value = value[:max_value]
    return Copy(message.key, value, headers, truncated)


def parse_dlq_headers(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    """The dlq.* headers of a dead-letter record as text."""
    return {k: v.decode("utf-8", "replace") for k, v in headers or [] if k.startswith("dlq.")}


HEADER_REPLAYED_FROM = "sequence-qbo.replayed-from"


@dataclass(frozen=True)
class DeadLetter:
    """A record of the DLQ topic, with where it came from."""

    partition: int  # in the DLQ topic
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]  # the dlq.* headers
    original_headers: list[tuple[str, bytes]]

    @property
    def source_topic(self) -> str:
        return self.headers.get(HEADER_SOURCE_TOPIC, "")

    @property
    def coordinates(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def truncated(self) -> bool:
        """Only part of the original value was copied: it cannot be re-injected from here."""
        return self.headers.get(HEADER_TRUNCATED) == "true"


def read_dead_letters(bootstrap: str, topic: str, timeout: float = 30.0) -> list[DeadLetter]:
    """Every record of the DLQ topic up to its current end (nothing committed)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"dlq-reader-{uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    try:
        ends = _ends(consumer, topic, timeout)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        return _read_until(consumer, ends, time.monotonic() + timeout)
    finally:
        consumer.close()


def reinject(producer: Producer, letters: list[DeadLetter]) -> None:
    """Produces each record again to its source topic, original key, value and headers, marked
    with where in the DLQ it came from; waits for the broker to acknowledge all of them.

    Refuses (before producing anything) when a letter holds a truncated copy of its value."""
    partial = [x for x in letters if x.truncated]
    if partial:
        where = ", ".join(
            f"{x.coordinates} (from {x.source_topic}[{x.headers.get(HEADER_SOURCE_PARTITION)}]"
            f"@{x.headers.get(HEADER_SOURCE_OFFSET)}, {x.headers.get(HEADER_SOURCE_SIZE)} bytes)"
            for x in partial
        )
        raise RuntimeError(
            f"{len(partial)} record(s) were too large to copy whole into the DLQ and hold a "
            f"truncated value: {where}; leave them out, the originals are in their source topics"
        )
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: KafkaMessage) -> None:
        if err is not None:
            errors.append(err)

    for letter in letters:
        headers: list[tuple[str, str | bytes | None]] = [
            *letter.original_headers,
            (HEADER_REPLAYED_FROM, letter.coordinates.encode()),
        ]
        producer.produce(
            letter.source_topic,
            key=letter.key,
            value=letter.value,
            headers=headers,
            on_delivery=on_delivery,
        )
    if producer.flush(30) or errors:
        raise RuntimeError(f"re-injection not acknowledged: {errors or 'timed out'}")


def _ends(consumer: Consumer, topic: str, timeout: float) -> dict[int, int]:
    meta = consumer.list_topics(topic, timeout=timeout).topics[topic]
    if meta.error is not None:
        raise RuntimeError(f"cannot read {topic}: {meta.error}")
    return {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
        for p in meta.partitions
    }


def _read_until(consumer: Consumer, ends: dict[int, int], deadline: float) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    next_offset = dict.fromkeys(ends, 0)
    while any(next_offset[p] < end for p, end in ends.items()):
        if time.monotonic() > deadline:
            raise TimeoutError("the DLQ could not be read to its end in time")
        msg = consumer.poll(0.5)
        if msg is None or msg.error() or (msg.offset() or 0) >= ends[msg.partition() or 0]:
            continue
        next_offset[msg.partition() or 0] = (msg.offset() or 0) + 1
        letters.append(_letter(msg))
    return sorted(letters, key=lambda x: (x.partition, x.offset))


def _letter(msg: KafkaMessage) -> DeadLetter:
    m = kafka.to_message(msg)
    return DeadLetter(
        partition=m.partition,
        offset=m.offset,
        key=m.key,
        value=m.value,
        headers=parse_dlq_headers(list(m.headers)),
        original_headers=[
            (k, v) for k, v in m.headers if not k.startswith("dlq.") and k != HEADER_REPLAYED_FROM
        ],
    )
