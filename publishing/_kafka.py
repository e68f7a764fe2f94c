"""`Publisher` over one confluent-kafka producer shared by every thread of a process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from publishing._types import PublishFailed, Record

__all__ = ["KafkaPublisher", "producer"]

log = logging.getLogger(__name__)

# How long the callback thread blocks in one `poll`: it returns as soon as a callback is served,
# so this bounds only how long `close()` waits for the thread.
_POLL_SECONDS = 0.1


def producer(bootstrap: str, **overrides: Any) -> Producer:
    """A producer with the settings every part of the service shares: idempotent, acks=all
    (a record is acknowledged once every in-sync replica has it)."""
    config = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        **overrides,
    }
    return Producer(config)


class _Acks:
    """The delivery callback of one call's records: counts them, keeps the errors."""

    def __init__(self, expected: int) -> None:
        self.pending = expected
        self.errors: list[KafkaError] = []
        self.done = threading.Event()
        self._lock = threading.Lock()
        if expected == 0:
            self.done.set()

    def __call__(self, err: KafkaError | None, _msg: Message) -> None:
        with self._lock:
            if err is not None:
                self.errors.append(err)
            self.pending -= 1
            if self.pending == 0:
                self.done.set()


class KafkaPublisher:
    """`Publisher` on a broker. Thread-safe; `close()` when done.

    `producer_overrides` go to the producer; e.g. `message.timeout.ms` no longer than the
    callers' timeout keeps a record a caller gave up on (and reported as failed) from being
    written minutes later, when the broker comes back.
    """

    def __init__(self, bootstrap: str, *, name: str = "publisher", **producer_overrides: Any):
        self._producer = producer(bootstrap, **producer_overrides)
        self._name = name
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._lock = threading.Lock()

    def publish(self, records: Sequence[Record], timeout: float) -> None:
        if not records:
            return
        self._start_poller()
        deadline = time.monotonic() + timeout
        acks = _Acks(len(records))
        for record in records:
            self._produce(record, acks, deadline)
        if not acks.done.wait(max(0.0, deadline - time.monotonic())):
            raise PublishFailed(
                f"{_topics(records)}: {acks.pending} of {len(records)} record(s) not "
                f"acknowledged within {timeout:.2f}s"
            )
        if acks.errors:
            raise PublishFailed(
                f"{_topics(records)}: {len(acks.errors)} record(s) refused: {acks.errors[0]}"
            )

    def warm(self, topic: str, timeout: float) -> None:
        """Fetches the topic's metadata now, so the first `publish` does not pay for it."""
        try:
            self._producer.list_topics(topic, timeout=timeout)
        except KafkaException as exc:
            log.warning("broker not reachable yet for %s: %s", topic, exc)

    def close(self, timeout: float = 10.0) -> None:
        """Stops the callback thread; records still queued get `timeout` seconds to leave."""
        self._stop.set()
        with self._lock:
            poller = self._poller
        if poller is not None:
            poller.join()
        remaining = self._producer.flush(timeout)
        if remaining:
            log.warning("%s closed with %d record(s) not acknowledged", self._name, remaining)

    def __enter__(self) -> KafkaPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _produce(self, record: Record, acks: _Acks, deadline: float) -> None:
        headers = list(record.headers) or None
        while True:
            try:
                self._producer.produce(
                    record.topic,
                    key=record.key,
                    value=record.value,
                    headers=headers,
                    on_delivery=acks,
                )
                return
            except BufferError as exc:
                # The local queue is full: let the broker take some, as long as time is left.
                if time.monotonic() >= deadline:
                    raise PublishFailed(f"{record.topic}: the local queue stayed full") from exc
                self._producer.poll(_POLL_SECONDS)
            except KafkaException as exc:
                raise PublishFailed(f"cannot produce to {record.topic}: {exc}") from exc

    def _start_poller(self) -> None:
        with self._lock:
            if self._stop.is_set():
                raise PublishFailed(f"{self._name} is closed")
            if self._poller is not None:
                return
            self._poller = threading.Thread(target=self._poll, name=self._name, daemon=True)
            self._poller.start()

    def _poll(self) -> None:
        # Delivery callbacks run on this thread; each call waits on its own `_Acks`.
        while not self._stop.is_set():
            self._producer.poll(_POLL_SECONDS)


def _topics(records: Sequence[Record]) -> str:
    return ", ".join(sorted({r.topic for r in records}))
