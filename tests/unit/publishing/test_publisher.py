"""`KafkaPublisher` without a broker: failures are `PublishFailed`, within the caller's time."""

from __future__ import annotations

import time

import pytest

from publishing import KafkaPublisher, PublishFailed, Record

# Nothing listens on port 1: the producer never gets an acknowledgement.
_NOWHERE = "127.0.0.1:1"


def test_an_unreachable_broker_fails_the_call_within_its_timeout() -> None:
    with KafkaPublisher(_NOWHERE, **{"message.timeout.ms": 5000}) as publisher:
        started = time.monotonic()
        with pytest.raises(PublishFailed, match="1 of 1 record"):
            publisher.publish([Record("t", "k", b"v")], timeout=0.3)
        assert time.monotonic() - started < 2.0


def test_nothing_to_publish_returns_at_once() -> None:
    with KafkaPublisher(_NOWHERE) as publisher:
        publisher.publish([], timeout=0.0)


def test_a_closed_publisher_refuses() -> None:
    publisher = KafkaPublisher(_NOWHERE)
    publisher.close(timeout=0)
    with pytest.raises(PublishFailed, match="closed"):
        publisher.publish([Record("t", "k", b"v")], timeout=0.1)
