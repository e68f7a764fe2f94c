"""What a publisher takes, what it promises, and how it fails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# A Kafka record header: name, value (confluent-kafka accepts text or bytes).
Header = tuple[str, str | bytes | None]


class PublishFailed(Exception):
    """The broker did not acknowledge every record of a call in time (transient: retry).

    At-least-once: some of the records may still have been written, so a retry may publish
    them twice; every consumer of ours deduplicates by key or event id."""


@dataclass(frozen=True)
class Record:
    """One Kafka record, already encoded."""

    topic: str
    key: str | bytes | None
    value: bytes | None
    headers: Sequence[Header] = ()


class Publisher(Protocol):
    def publish(self, records: Sequence[Record], timeout: float) -> None:
        """Returns once every record is acknowledged, within `timeout` seconds; raises
        `PublishFailed` otherwise."""
