"""Publishing from the services: `customer.imported` records and internal re-sync requests.

`Outbox.send` queues; `flush` returns once the broker acknowledged everything queued, or
raises `Unavailable` (at-least-once: some records may still have been written, and every
consumer of ours is idempotent per key).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from consumers.runtime import kafka
from schemas.serde import Serde
from sequence_qbo.settings import Settings, Topics
from sync.errors import Unavailable

__all__ = ["KafkaOutbox", "Outbox", "Publishing", "kafka_publishing"]


class Outbox(Protocol):
    def send(self, topic: str, key: str, value: bytes) -> None: ...

    def flush(self) -> None: ...


class KafkaOutbox:
    """An `Outbox` over a confluent-kafka producer (idempotent, acks=all)."""

    def __init__(self, producer: Producer, timeout: float = 30.0) -> None:
        self._producer, self._timeout = producer, timeout
        self._errors: list[KafkaError] = []
        self._lock = threading.Lock()

    def _acked(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            with self._lock:
                self._errors.append(err)

    def send(self, topic: str, key: str, value: bytes) -> None:
        try:
            self._producer.produce(topic, key=key, value=value, on_delivery=self._acked)
        except BufferError:
            self._producer.flush(self._timeout)  # the local queue is full: drain, then retry
            self._producer.produce(topic, key=key, value=value, on_delivery=self._acked)
        except KafkaException as exc:
            raise Unavailable("kafka_unavailable", f"cannot publish to {topic}: {exc}") from exc

    def flush(self) -> None:
        remaining = self._producer.flush(self._timeout)
        with self._lock:
            errors, self._errors = self._errors, []
        if remaining or errors:
            raise Unavailable(
                "kafka_unavailable",
                "the broker did not acknowledge "
                f"{remaining or len(errors)} record(s): {errors[:1] or 'timed out'}",
            )


@dataclass(frozen=True)
class Publishing:
    """What a service needs to publish: where, in which topics, and how to encode Avro."""

    outbox: Outbox
    topics: Topics
    serde: Serde


def kafka_publishing(settings: Settings, serde: Serde) -> Publishing:
    """Publishing on the configured broker and topics (the composition root's one-liner)."""
    return Publishing(KafkaOutbox(kafka.producer(settings.kafka_bootstrap)), settings.topics, serde)
