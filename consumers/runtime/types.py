"""The contract between the Kafka runtime and the handlers. The runtime knows nothing of QBO."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Message:
    """A consumed Kafka record, as the runtime saw it (raw bytes kept for the DLQ)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp: dt.datetime | None = None


@dataclass(frozen=True)
class Event:
    """A decoded message handed to a handler."""

    message: Message
    value: dict[str, Any]

    @property
    def account_id(self) -> str:
        return str(self.value.get("account_id", ""))


# Outcomes a handler returns. An exception that escapes a handler is a bug: retried like a
# key-scoped Retry (and logged at ERROR), never dead-lettered.
@dataclass(frozen=True)
class Done:
    """The effect is durable (or was already there). Optional label for metrics/replay summary."""

    label: str = "processed"


RetryScope = Literal["realm", "key"]


@dataclass(frozen=True)
class Retry:
    """Transient trouble (429, 5xx, timeouts, a DB blip): retried without limit, with capped
    exponential backoff; `after` is the least wait (the other side's Retry-After).

    `scope` says what waits meanwhile: "key" holds back only this key (later events of the key
    stay behind it); "realm" holds back the message's whole concurrency group (QBO throttling or
    an outage of the realm), never other groups."""

    reason: str
    after: float = 1.0
    scope: RetryScope = "key"


@dataclass(frozen=True)
class Failed:
    """A business failure, recorded by the handler; the message is done with (no DLQ)."""

    reason_code: str
    message: str


@dataclass(frozen=True)
class Poison:
    """Input we can never process: undecodable bytes, an unknown schema id, a writer schema that
    is not Avro, a payload failing validation. The only outcome that goes to the DLQ."""

    error_class: str
    reason: str


Outcome = Done | Retry | Failed | Poison


class Handler(Protocol):
    """One per input topic. `event` names the schema (the .avsc stem) used to decode.

    A handler may also say `batches = True`: its messages of one concurrency group go out to QBO
    together (creates in one /batch request), so a group's turn may start several of them
    (consumers/runtime/scheduler.py). Read with getattr: most handlers do not say it."""

    event: str

    def handle(self, event: Event) -> Outcome: ...


class Decoder(Protocol):
    """Turns a record's bytes into the event named `event` (schemas.serde.Serde is one).

    Raises schemas.serde.UndecodableMessage (poison) or RegistryUnavailable (transient)."""

    def decode(self, event: str, data: bytes | None) -> dict[str, Any]: ...
