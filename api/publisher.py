"""Hands change notices to the `qbo.changes` topic and waits for the broker's acknowledgement.

The webhook answers 200 only after this returns, so a notice Intuit considers delivered is
durable in Kafka. One producer serves every request: a background thread serves its delivery
callbacks, and each call waits for its own records only (a shared `flush()` would make one
request wait for everybody else's records).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from api.errors import HandoffFailed
from consumers.runtime import kafka
from schemas.serde import Serde, SerdeError

__all__ = ["ChangePublisher", "KafkaChangePublisher"]

log = logging.getLogger(__name__)

EVENT = "qbo.changes"


class ChangePublisher(Protocol):
    def publish(self, changes: Sequence[Mapping[str, Any]], timeout: float) -> None:
        """Returns once every `qbo.changes` record is acknowledged, within `timeout` seconds;
        raises `HandoffFailed` otherwise (some may still have been written: at-least-once)."""


class _Acks:
    """Counts the acknowledgements of one call's records."""

    def __init__(self, expected: int) -> None:
        self._pending = expected
        self._lock = threading.Lock()
        self.errors: list[KafkaError] = []
        self.done = threading.Event()
        if expected == 0:
            self.done.set()

    def __call__(self, err: KafkaError | None, _msg: Message) -> None:
        with self._lock:
            if err is not None:
                self.errors.append(err)
            self._pending -= 1
            if self._pending == 0:
                self.done.set()


class KafkaChangePublisher:
    """`ChangePublisher` on a real broker. Construction does no I/O; `open()` starts the producer.

    `timeout` caps each `publish` (which may be given less: what is left of the request's
    budget); it is also the producer's `message.timeout.ms`, so a record we gave up on (and
    answered 503 for) is not written minutes later when the broker returns.
    """

    def __init__(
        self,
        bootstrap: str,
        serde: Serde,
        topic: str,
        *,
        timeout: float = 2.0,
        **producer_overrides: Any,
    ) -> None:
        self._config = {
            "message.timeout.ms": int(timeout * 1000),
            "linger.ms": 1,
            **producer_overrides,
        }
        self._bootstrap, self._serde, self._topic, self._timeout = bootstrap, serde, topic, timeout
        self._producer: Producer | None = None
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="qbo-changes-acks", daemon=True)

    def open(self) -> KafkaChangePublisher:
        self._producer = kafka.producer(self._bootstrap, **self._config)
        self._poller.start()
        try:
            # Fetch metadata now: the first request would otherwise pay ~0.5 s of its 3 s.
            self._producer.list_topics(self._topic, timeout=self._timeout)
        except KafkaException as exc:
            log.warning("broker not reachable yet (webhooks get 503 until it is): %s", exc)
        return self

    def close(self) -> None:
        self._stop.set()
        if self._poller.is_alive():
            self._poller.join()
        if self._producer is not None:
            self._producer.flush(self._timeout)

    def __enter__(self) -> KafkaChangePublisher:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def publish(self, changes: Sequence[Mapping[str, Any]], timeout: float) -> None:
        # Keyed by realm (PRODUCT.md §2): one realm's notices stay in order on one partition.
        if self._producer is None:
            raise RuntimeError("KafkaChangePublisher.publish before open()")
        acks = _Acks(len(changes))
        try:
            for change in changes:
                value = self._serde.encode(EVENT, self._topic, change)
                self._producer.produce(
                    self._topic, key=change["realm_id"], value=value, on_delivery=acks
                )
        except (BufferError, KafkaException, SerdeError) as exc:
            raise HandoffFailed(f"cannot produce to {self._topic}: {exc}") from exc
        wait = min(timeout, self._timeout)
        if not acks.done.wait(wait):
            raise HandoffFailed(f"{self._topic} did not acknowledge within {wait:.2f}s")
        if acks.errors:
            raise HandoffFailed(f"{self._topic} refused records: {acks.errors[0]}")

    def _poll(self) -> None:
        # Delivery callbacks run on this thread; requests wait on their own `_Acks`.
        assert self._producer is not None
        while not self._stop.is_set():
            self._producer.poll(0.1)
