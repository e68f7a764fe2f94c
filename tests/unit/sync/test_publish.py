"""The services' outbox: a flush publishes the calling thread's records, and only those."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from publishing import PublishFailed, Record
from sync.errors import Unavailable
from sync.publish import PublisherOutbox


class _Publisher:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[Record]] = []
        self.fail = fail

    def publish(self, records: Sequence[Record], timeout: float) -> None:
        self.calls.append(list(records))
        if self.fail:
            raise PublishFailed("broker down (fake)")


def test_each_thread_flushes_its_own_records() -> None:
    publisher = _Publisher()
    outbox = PublisherOutbox(publisher)
    queued = threading.Barrier(2)

    def worker(name: str) -> None:
        outbox.send("t", name, name.encode())
        queued.wait(5)  # both threads have queued before either flushes
        outbox.flush()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert sorted([r.key for r in call] for call in publisher.calls) == [["a"], ["b"]]


def test_a_flush_publishes_once_and_starts_afresh() -> None:
    publisher = _Publisher()
    outbox = PublisherOutbox(publisher)
    outbox.send("t", "k1", b"1")
    outbox.send("t", "k2", b"2")
    outbox.flush()
    outbox.flush()
    assert [[r.key for r in call] for call in publisher.calls] == [["k1", "k2"], []]


def test_an_unacknowledged_flush_is_unavailable() -> None:
    outbox = PublisherOutbox(_Publisher(fail=True))
    outbox.send("t", "k", b"v")
    with pytest.raises(Unavailable) as raised:
        outbox.flush()
    assert raised.value.reason == "kafka_unavailable"
