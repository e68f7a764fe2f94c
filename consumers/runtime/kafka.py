"""Building confluent-kafka clients with the settings every part of the service shares (the
producer's: `publishing.producer`, re-exported here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka import Message as KafkaMessage

from consumers.runtime.types import Message
from publishing import producer as producer  # the one producer configuration, re-exported

# librdkafka's read-ahead, held in the process beside what the runtime buffers: by default up to
# 100,000 messages or 64 MB in the consumer's queue, plus fetch responses of up to 50 MB. The
# runtime holds a few thousand messages and pauses beyond that (a pause drops what was read
# ahead), so 1,000 messages or 1 MB, plus one response of at most 1 MB (256 KB a partition; a
# larger record still comes whole), is seconds of work ahead. Measured on a backlog of small
# events: RSS 15-20 MB lower at the same rate (bench/month_end.py P6).
PREFETCH = {
    "queued.min.messages": 1000,
    "queued.max.messages.kbytes": 1024,
    "fetch.max.bytes": 1024 * 1024,
    "fetch.message.max.bytes": 256 * 1024,
}


def consumer(
    bootstrap: str, group_id: str, *, instance_id: str | None = None, **overrides: Any
) -> Consumer:
    """A group member; with `instance_id`, a static one (KIP-345): restarted with the same id
    it takes its partitions back at once, without a rebalance (measured: 0.2 s after a
    SIGKILL, against 45 s, the session timeout, for a dynamic member). Kafka 4's consumer
    protocol (KIP-848, `group.protocol=consumer`) was measured too: 45 s without an instance id,
    and with one librdkafka 2.16 fails fatally ("instance ID is still used") until the dead
    member's session expires. So: the classic protocol, static membership."""
    static = {"group.instance.id": instance_id} if instance_id else {}
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "auto.offset.reset": "earliest",
        # At-least-once: an offset is stored only after its effect is durable; the background
        # auto-commit then commits stored offsets only.
        "enable.auto.offset.store": False,
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 1000,
        "partition.assignment.strategy": "cooperative-sticky",
        "enable.partition.eof": False,
        **PREFETCH,
        **static,
        **overrides,
    }
    return Consumer(config)


def to_message(msg: KafkaMessage) -> Message:
    ts_type, ts_ms = msg.timestamp()
    return Message(
        topic=msg.topic() or "",
        partition=msg.partition() or 0,
        offset=msg.offset() or 0,
        key=msg.key(),
        value=msg.value(),
        headers=tuple((k, v or b"") for k, v in _header_list(msg)),
        timestamp=dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC) if ts_type else None,
    )


def _header_list(msg: KafkaMessage) -> list[tuple[str, bytes | None]]:
    raw = msg.headers() or []
    items = raw.items() if isinstance(raw, dict) else raw
    return [(k, v.encode() if isinstance(v, str) else v) for k, v in items]
