"""Hands change notices to the `qbo.changes` topic and waits for the broker's acknowledgement.

The webhook answers 200 only after this returns, so a notice Intuit considers delivered is
durable in Kafka. One producer (`publishing.KafkaPublisher`) serves every request, and each
call waits for its own records only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from api.errors import HandoffFailed
from publishing import KafkaPublisher, PublishFailed, Record
from schemas.serde import Serde, SerdeError

__all__ = ["ChangePublisher", "KafkaChangePublisher"]

EVENT = "qbo.changes"


class ChangePublisher(Protocol):
    def publish(self, changes: Sequence[Mapping[str, Any]], timeout: float) -> None:
        """Returns once every `qbo.changes` record is acknowledged, within `timeout` seconds;
        raises `HandoffFailed` otherwise (some may still have been written: at-least-once)."""


class KafkaChangePublisher:
    """`ChangePublisher` on a real broker. Construction does no I/O; `open()` warms the
    producer up, `close()` stops it.

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
        self._publisher: KafkaPublisher | None = None

    def open(self) -> KafkaChangePublisher:
        self._publisher = KafkaPublisher(self._bootstrap, name="qbo-changes-acks", **self._config)
        # Fetch metadata now: the first request would otherwise pay ~0.5 s of its 3 s.
        self._publisher.warm(self._topic, self._timeout)
        return self

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close(self._timeout)

    def __enter__(self) -> KafkaChangePublisher:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def publish(self, changes: Sequence[Mapping[str, Any]], timeout: float) -> None:
        # Keyed by realm (docs/events.md#topics): one realm's notices stay in order on one
        # partition.
        if self._publisher is None:
            raise RuntimeError("KafkaChangePublisher.publish before open()")
        try:
            records = [
                Record(self._topic, change["realm_id"], self._encode(change)) for change in changes
            ]
            self._publisher.publish(records, min(timeout, self._timeout))
        except (PublishFailed, SerdeError) as exc:
            raise HandoffFailed(f"cannot hand off to {self._topic}: {exc}") from exc

    def _encode(self, change: Mapping[str, Any]) -> bytes:
        return self._serde.encode(EVENT, self._topic, change)
