"""Publishing from the services: `customer.imported` records and internal re-sync requests.

`Outbox.send` queues a record on the calling thread; `flush` publishes what that thread queued
and returns once the broker acknowledged those records, or raises `Unavailable`
(at-least-once: some records may still have been written, and every consumer of ours is
idempotent per key). One `Publishing` serves every handler thread of a consumer, so each flush
waits for its own thread's records only (`publishing.Publisher`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from publishing import Publisher, PublishFailed, Record
from schemas.serde import Serde
from sync.errors import Unavailable

__all__ = ["Outbox", "PublisherOutbox", "Publishing", "Topics"]


class Topics(Protocol):
    """The topics the services publish to (the service's configured names)."""

    @property
    def customer_imported(self) -> str: ...

    @property
    def resync(self) -> str: ...


class Outbox(Protocol):
    def send(self, topic: str, key: str, value: bytes) -> None: ...

    def flush(self) -> None: ...


class PublisherOutbox:
    """An `Outbox` over a `publishing.Publisher`, with one queue per thread."""

    def __init__(self, publisher: Publisher, timeout: float = 30.0) -> None:
        self._publisher, self._timeout = publisher, timeout
        self._local = threading.local()

    def _queued(self) -> list[Record]:
        if not hasattr(self._local, "records"):
            self._local.records = []
        queued: list[Record] = self._local.records
        return queued

    def send(self, topic: str, key: str, value: bytes) -> None:
        self._queued().append(Record(topic, key, value))

    def flush(self) -> None:
        records, self._local.records = self._queued(), []
        try:
            self._publisher.publish(records, self._timeout)
        except PublishFailed as exc:
            raise Unavailable(
                "kafka_unavailable", f"the broker did not acknowledge: {exc}"
            ) from exc


@dataclass(frozen=True)
class Publishing:
    """What a service needs to publish: where, in which topics, and how to encode Avro."""

    outbox: Outbox
    topics: Topics
    serde: Serde

    @classmethod
    def over(
        cls, publisher: Publisher, topics: Topics, serde: Serde, timeout: float = 30.0
    ) -> Publishing:
        """Publishing through `publisher` (the process's one Kafka publisher)."""
        return cls(PublisherOutbox(publisher, timeout), topics, serde)
