"""The runtime's rebalance callbacks with a fake consumer: what is committed, and when."""

from __future__ import annotations

import threading
from typing import Any

from confluent_kafka import TopicPartition

from consumers.runtime.concurrent import ConcurrentRuntime, RuntimeOptions
from consumers.runtime.engine import EngineOptions
from consumers.runtime.types import Done, Event, Message, Outcome
from tests.helpers import wait_until


class FakeConsumer:
    def __init__(self) -> None:
        self.commits: list[list[tuple[str, int, int]]] = []
        self.unassigned: list[str] = []

    def incremental_assign(self, partitions: list[TopicPartition]) -> None:
        pass

    def incremental_unassign(self, partitions: list[TopicPartition]) -> None:
        self.unassigned += [f"{tp.topic}[{tp.partition}]" for tp in partitions]

    def store_offsets(self, offsets: list[TopicPartition]) -> None:
        pass

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        assert not asynchronous
        self.commits.append([(tp.topic, tp.partition, tp.offset) for tp in offsets])


class Gated:
    """Offset 1 blocks until the gate opens; the others finish at once."""

    event = "e"

    def __init__(self) -> None:
        self.gate = threading.Event()

    def handle(self, event: Event) -> Outcome:
        if event.message.offset == 1:
            self.gate.wait(10)
        return Done()


class JsonLike:
    def decode(self, event: str, data: bytes | None) -> dict[str, Any]:
        return {"account_id": "a"}


def _runtime(deadline: float) -> tuple[ConcurrentRuntime, FakeConsumer, Gated]:
    consumer, handler = FakeConsumer(), Gated()
    rt = ConcurrentRuntime(
        consumer=consumer,
        dead_letters=None,  # type: ignore[arg-type]
        serde=JsonLike(),  # type: ignore[arg-type]
        handlers={"t": handler},
        dlq_topic="dlq",
        options=RuntimeOptions(engine=EngineOptions(max_in_flight=4), revoke_deadline=deadline),
    )
    rt.engine.start()
    rt._on_assign(consumer, [TopicPartition("t", 0)])  # type: ignore[arg-type]
    for offset in range(4):  # distinct keys: 0, 2, 3 finish, 1 blocks
        rt._submit(Message("t", 0, offset, f"k{offset}".encode(), b"{}"))
    return rt, consumer, handler


def _wait_for(predicate: Any) -> None:
    wait_until(predicate, timeout=5, interval=0.01)


def test_revoke_commits_only_below_the_unfinished_offset_when_the_deadline_passes() -> None:
    rt, consumer, handler = _runtime(deadline=0.2)
    _wait_for(lambda: rt.processed == 3)
    rt._on_revoke(consumer, [TopicPartition("t", 0)])  # type: ignore[arg-type]
    assert consumer.commits == [[("t", 0, 1)]]  # offset 1 abandoned: the next owner replays it
    assert consumer.unassigned == ["t[0]"]
    handler.gate.set()
    rt.engine.stop()


def test_revoke_waits_for_running_work_within_the_deadline() -> None:
    rt, consumer, handler = _runtime(deadline=10)
    _wait_for(lambda: rt.processed == 3)
    threading.Timer(0.1, handler.gate.set).start()
    rt._on_revoke(consumer, [TopicPartition("t", 0)])  # type: ignore[arg-type]
    assert consumer.commits == [[("t", 0, 4)]]
    rt.engine.stop()


def test_lost_partitions_commit_nothing() -> None:
    rt, consumer, handler = _runtime(deadline=10)
    _wait_for(lambda: rt.processed == 3)
    rt._on_lost(consumer, [TopicPartition("t", 0)])  # type: ignore[arg-type]
    handler.gate.set()
    _wait_for(lambda: rt.processed == 4)
    assert consumer.commits == []
    assert rt.trackers == {}
    rt.engine.stop()
