"""The engine without Kafka: a fake producer for the DLQ, handlers that fail on cue."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from consumers.runtime.engine import Engine, EngineOptions
from consumers.runtime.offsets import PartitionOffsets
from consumers.runtime.types import Done, Event, Failed, Message, Outcome, Poison, Retry
from schemas.serde import UndecodableMessage
from tests.helpers import wait_until


class FakeProducer:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.records.append({"topic": topic, **kwargs})
        kwargs["on_delivery"](None, None)

    def flush(self, _timeout: float) -> int:
        return 0


class Decoder:
    def decode(self, event: str, data: bytes | None) -> dict[str, Any]:
        try:
            return dict(json.loads(data or b""))
        except ValueError as exc:
            raise UndecodableMessage(str(exc)) from exc


class Scripted:
    """Returns the scripted outcomes of each id in turn (the last one repeats)."""

    event = "test"

    def __init__(self, script: dict[str, list[Any]]) -> None:
        self.script = script
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def handle(self, event: Event) -> Outcome:
        i = event.value["id"]
        with self.lock:
            self.calls.append(i)
            n = self.calls.count(i)
        step = self.script.get(i, [Done()])
        result = step[min(n, len(step)) - 1]
        if isinstance(result, Exception):
            raise result
        return result


def _message(offset: int, key: str, **value: Any) -> Message:
    return Message("t", 0, offset, key.encode(), json.dumps(value).encode())


@pytest.fixture
def world():
    producer = FakeProducer()
    outcomes: list[tuple[int, Outcome]] = []

    def make(script: dict[str, list[Any]], **options: Any) -> tuple[Engine, Scripted]:
        handler = Scripted(script)
        engine = Engine(
            decoder=Decoder(),
            handlers={"t": handler},
            producer=producer,  # type: ignore[arg-type]
            dlq_topic="dlq",
            options=EngineOptions(**{"backoff_base": 0.01, **options}),
            on_outcome=lambda m, o: outcomes.append((m.offset, o)),
            jitter=lambda: 1.0,
        )
        engine.start()
        return engine, handler

    yield make, producer, outcomes


def _pump(engine: Engine, tracker: PartitionOffsets, until: int) -> None:
    """What the poll loop does for retries: dispatch what came due."""

    def done() -> bool:
        engine.dispatch()
        with engine.cond:
            return tracker.committable() == until

    wait_until(done, timeout=10, interval=0.01, message=f"position {until}")


def test_transient_failures_are_retried_then_done(world) -> None:
    make, producer, outcomes = world
    engine, handler = make({"a": [Retry("429", after=0.0), ConnectionError("reset"), Done("ok")]})
    tracker = PartitionOffsets()
    engine.submit(_message(0, "k", id="a", account_id="x"), tracker)
    _pump(engine, tracker, 1)
    assert handler.calls == ["a", "a", "a"]
    assert outcomes == [(0, Done("ok"))]
    assert producer.records == []


def test_exhausted_retries_and_poison_are_dead_lettered_with_headers(world) -> None:
    make, producer, outcomes = world
    engine, _ = make(
        {
            "a": [Retry("5xx", after=0.0)],
            "b": [Poison("InvalidEvent", "bad")],
            "c": [Failed("NOT_LINKED", "customer not linked")],
        },
        max_attempts=3,
    )
    tracker = PartitionOffsets()
    engine.submit(_message(0, "k1", id="a"), tracker)
    engine.submit(_message(1, "k2", id="b"), tracker)
    engine.submit(Message("t", 0, 2, b"k3", b"{oops"), tracker)
    engine.submit(_message(3, "k4", id="c"), tracker)
    _pump(engine, tracker, 4)
    headers = {r["key"]: dict(r["headers"]) for r in producer.records}
    assert set(headers) == {b"k1", b"k2", b"k3"}  # Failed is done with, not dead-lettered
    assert headers[b"k1"]["dlq.error.class"] == b"RetriesExhausted"
    assert headers[b"k1"]["dlq.attempts"] == b"3"
    assert headers[b"k2"]["dlq.error.class"] == b"InvalidEvent"
    assert headers[b"k3"]["dlq.error.class"] == b"UndecodableMessage"
    assert {r["topic"] for r in producer.records} == {"dlq"}
    assert sorted(o for o, _ in outcomes) == [0, 1, 2, 3]


def test_a_retrying_message_holds_its_key_only(world) -> None:
    make, _, _ = world
    engine, handler = make({"a1": [Retry("flaky", after=0.0), Done()]}, backoff_base=0.2)
    tracker = PartitionOffsets()
    for offset, (key, i) in enumerate([("k", "a1"), ("k", "a2"), ("j", "b1")]):
        engine.submit(_message(offset, key, id=i, account_id="acct"), tracker)
    _pump(engine, tracker, 3)
    assert handler.calls.index("b1") < handler.calls.index("a2")  # b1 did not wait for a1
    assert [c for c in handler.calls if c.startswith("a")] == ["a1", "a1", "a2"]


def test_revoked_partitions_drop_queued_work(world) -> None:
    make, _, _ = world
    gate = threading.Event()

    class Blocking(Scripted):
        def handle(self, event: Event) -> Outcome:
            gate.wait(10)
            return super().handle(event)

    engine, _ = make({})
    engine.handlers["t"] = Blocking({})
    tracker = PartitionOffsets()
    for offset in range(3):
        engine.submit(_message(offset, "same-key", id=str(offset)), tracker)
    assert engine.close_partitions([tracker]) == 2  # the running head stays
    gate.set()
    assert engine.wait_idle([tracker], deadline=float("inf"))
    assert tracker.committable() == 1
    assert engine.buffered == 0


def test_a_handler_may_choose_the_concurrency_group(world) -> None:
    make, _, _ = world
    gate = threading.Event()
    running: list[str] = []

    class OneRealm(Scripted):
        def group_of(self, event: Event) -> str:
            return "realm-1"  # every account of this handler shares one realm

        def handle(self, event: Event) -> Outcome:
            running.append(event.value["id"])
            gate.wait(10)
            return Done()

    engine, _ = make({}, group_limit=2)
    engine.handlers["t"] = OneRealm({})
    tracker = PartitionOffsets()
    for offset in range(5):
        engine.submit(
            _message(offset, f"k{offset}", id=str(offset), account_id=f"a{offset}"), tracker
        )
    wait_until(lambda: len(running) == 2, timeout=5)
    assert engine.scheduler.in_flight == 2  # five accounts, one realm: two at a time
    gate.set()
    _pump(engine, tracker, 5)
