"""The engine without Kafka: a fake producer for the DLQ, handlers that fail on cue."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from consumers.runtime.engine import Engine, EngineOptions
from consumers.runtime.offsets import PartitionOffsets
from consumers.runtime.types import Done, Event, Failed, Message, Outcome, Poison, Retry
from publishing import PublishFailed, Record
from schemas.serde import UndecodableMessage
from tests.helpers import wait_until


class FakePublisher:
    """Acknowledges every record at once (the `publishing.Publisher` contract)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def publish(self, records: list[Record], timeout: float) -> None:
        for r in records:
            self.produce(r.topic, key=r.key, value=r.value, headers=list(r.headers))

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.records.append({"topic": topic, **kwargs})


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
    producer = FakePublisher()
    outcomes: list[tuple[int, Outcome]] = []

    def make(script: dict[str, list[Any]], **options: Any) -> tuple[Engine, Scripted]:
        handler = Scripted(script)
        engine = Engine(
            decoder=Decoder(),
            handlers={"t": handler},
            dead_letters=producer,  # type: ignore[arg-type]
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


def test_only_poison_is_dead_lettered_with_headers(world) -> None:
    make, producer, outcomes = world
    engine, _ = make(
        {
            "a": [Retry("5xx", after=0.0)] * 12 + [Done()],
            "b": [Poison("InvalidEvent", "bad")],
            "c": [Failed("NOT_LINKED", "customer not linked")],
            "d": [ConnectionError("bug")] * 12 + [Done()],
        },
        backoff_cap=0.02,
    )
    tracker = PartitionOffsets()
    engine.submit(_message(0, "k1", id="a"), tracker)
    engine.submit(_message(1, "k2", id="b"), tracker)
    engine.submit(Message("t", 0, 2, b"k3", b"{oops"), tracker)
    engine.submit(_message(3, "k4", id="c"), tracker)
    engine.submit(_message(4, "k5", id="d"), tracker)
    _pump(engine, tracker, 5)
    headers = {r["key"]: dict(r["headers"]) for r in producer.records}
    # Transient trouble and handler bugs are waited out (13 attempts here), never dead-lettered;
    # Failed is done with, not dead-lettered.
    assert set(headers) == {b"k2", b"k3"}
    assert headers[b"k2"]["dlq.error.class"] == b"InvalidEvent"
    assert headers[b"k3"]["dlq.error.class"] == b"UndecodableMessage"
    assert {r["topic"] for r in producer.records} == {"dlq"}
    assert dict(outcomes)[0] == Done() and dict(outcomes)[4] == Done()
    assert sorted(o for o, _ in outcomes) == [0, 1, 2, 3, 4]
    assert engine.metrics.handler_errors.labels("t", "ConnectionError")._value.get() == 12


def test_a_realm_retry_holds_its_group_and_a_key_retry_only_its_key(world) -> None:
    make, _, _ = world
    engine, handler = make(
        {
            "r1": [Retry("503", after=0.5, scope="realm"), Done()],
            "k1": [Retry("db down", after=0.5, scope="key"), Done()],
        },
    )
    started: dict[str, list[float]] = {}
    original = handler.handle

    def timed(event: Event) -> Outcome:
        started.setdefault(event.value["id"], []).append(time.monotonic())
        return original(event)

    handler.handle = timed  # type: ignore[method-assign]
    tracker = PartitionOffsets()
    # Realm A: r1 fails for the realm, so r2 (another key of A) waits; realm B runs on.
    engine.submit(_message(0, "ka", id="r1", account_id="A"), tracker)
    wait_until(lambda: engine.next_due() is not None, timeout=5)  # r1 waits for its retry
    assert engine.metrics.waiting_retry._value.get() == 1
    engine.submit(_message(1, "kb", id="r2", account_id="A"), tracker)
    engine.submit(_message(2, "kc", id="b1", account_id="B"), tracker)
    # Realm C: k1 fails for its key only, so k2 (another key of C) runs at once.
    engine.submit(_message(3, "kd", id="k1", account_id="C"), tracker)
    engine.submit(_message(4, "ke", id="k2", account_id="C"), tracker)
    _pump(engine, tracker, 5)
    held_from = started["r1"][0]
    assert started["r2"][0] - held_from >= 0.5  # A waited for the realm's retry
    assert started["b1"][0] - held_from < 0.5  # B did not
    assert started["k2"][0] < started["k1"][1]  # C's other key did not wait for k1
    assert started["k1"][1] - started["k1"][0] >= 0.5
    assert engine.metrics.waiting_retry._value.get() == 0  # nothing waits any more


def test_the_wait_the_other_side_asked_for_is_honoured(world) -> None:
    make, _, _ = world
    engine, handler = make({"a": [Retry("429", after=0.4, scope="realm"), Done()]})
    tracker = PartitionOffsets()
    times: list[float] = []
    original = handler.handle

    def timed(event: Event) -> Outcome:
        times.append(time.monotonic())
        return original(event)

    handler.handle = timed  # type: ignore[method-assign]
    engine.submit(_message(0, "k", id="a", account_id="x"), tracker)
    _pump(engine, tracker, 1)
    assert times[1] - times[0] >= 0.4


def test_a_dead_letter_write_that_fails_is_written_again(world) -> None:
    make, producer, outcomes = world
    engine, _ = make({})
    failures = [PublishFailed("1 of 1 record(s) not acknowledged"), PublishFailed("refused")]
    produce = producer.produce

    def flaky(topic: str, **kwargs: Any) -> None:
        if failures:
            raise failures.pop(0)
        produce(topic, **kwargs)

    producer.produce = flaky  # type: ignore[method-assign]
    tracker = PartitionOffsets()
    engine.submit(Message("t", 0, 0, b"k", b"{oops"), tracker)
    _pump(engine, tracker, 1)
    assert len(producer.records) == 1
    assert [o for _, o in outcomes] == [Poison("UndecodableMessage", outcomes[0][1].reason)]


def _refused_by_the_producer() -> PublishFailed:
    error = PublishFailed("cannot produce")
    error.__cause__ = KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
    return error


def _refused_by_the_broker() -> PublishFailed:
    error = KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)
    return PublishFailed(f"dlq: 1 record(s) refused: {error}")


@pytest.mark.parametrize("refusal", [_refused_by_the_producer, _refused_by_the_broker])
def test_a_copy_too_large_to_write_goes_without_its_value(world, refusal) -> None:
    make, producer, _ = world
    engine, _ = make({})
    produce = producer.produce

    def limited(topic: str, **kwargs: Any) -> None:
        if len(kwargs["value"] or b"") > 1000:  # stands in for message.max.bytes
            raise refusal()
        produce(topic, **kwargs)

    producer.produce = limited  # type: ignore[method-assign]
    tracker = PartitionOffsets()
    engine.submit(Message("t", 1, 7, b"k", b"{" * 5000, headers=(("h", b"v"),)), tracker)
    _pump(engine, tracker, 8)
    (record,) = producer.records
    headers = dict(record["headers"])
    assert record["value"] == b""
    assert headers["dlq.source.size"] == b"5000"
    assert headers["dlq.value.truncated"] == b"true"
    assert headers["dlq.source.offset"] == b"7"
    assert "h" not in headers


def test_a_runtime_error_stops_the_engine_instead_of_skipping_the_message(world) -> None:
    make, _, _ = world
    engine, _ = make({})

    def broken(_message: Message, _outcome: Outcome) -> None:
        raise RuntimeError("bug in a hook")

    engine.on_outcome = broken
    tracker = PartitionOffsets()
    engine.submit(_message(0, "k", id="a"), tracker)
    wait_until(lambda: engine.fatal is not None, timeout=5)
    assert "bug in a hook" in str(engine.fatal)
    assert not engine.accepting
    engine.submit(_message(1, "j", id="b"), tracker)
    engine.dispatch()
    assert engine.scheduler.in_flight == 0  # nothing more starts


def test_a_replay_gives_up_after_its_attempts_and_a_run_may_not(world) -> None:
    make, producer, outcomes = world
    engine, handler = make({"a": [Retry("5xx", after=0.0)]}, dead_letter=False, give_up_after=3)
    tracker = PartitionOffsets()
    engine.submit(_message(0, "k", id="a"), tracker)
    _pump(engine, tracker, 1)
    assert handler.calls == ["a"] * 3
    assert isinstance(outcomes[0][1], Failed) and outcomes[0][1].reason_code == "retries_exhausted"
    assert producer.records == []
    with pytest.raises(ValueError, match="without limit"):
        EngineOptions(give_up_after=3)


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


def test_a_waiting_message_holds_its_bytes_not_its_decoded_event(world) -> None:
    """Read-ahead costs little memory: what waits for a thread (or a retry) keeps the record,
    is decoded again when it runs, and keeps its group (a realm hold still applies)."""
    make, _, outcomes = world
    engine, handler = make({"a": [Retry("503", after=0.2, scope="realm"), Done()]}, max_in_flight=1)
    gate = threading.Event()
    original = handler.handle

    started: dict[str, float] = {}

    def slow(event: Event) -> Outcome:
        started.setdefault(event.value["id"], time.monotonic())
        if event.value["id"] == "first":
            gate.wait(5)
        return original(event)

    handler.handle = slow  # type: ignore[method-assign]
    tracker = PartitionOffsets()
    engine.submit(_message(0, "k0", id="first", account_id="A"), tracker)
    engine.submit(_message(1, "k1", id="a", account_id="A"), tracker)
    engine.submit(_message(2, "k2", id="b", account_id="A"), tracker)
    with engine.cond:
        waiting = [w for q in engine.scheduler._queues.values() for _, w, _ in q if not w.running]
    assert len(waiting) == 2
    assert all(w.event is None and w.group == "A" for w in waiting)
    gate.set()
    _pump(engine, tracker, 3)
    assert sorted(handler.calls) == ["a", "a", "b", "first"]
    assert started["b"] - started["a"] >= 0.2  # A's hold found A, decoded or not
    assert sorted(o for o, _ in outcomes) == [0, 1, 2]
