"""Poison goes to the DLQ with its headers while the rest flow, transient failures are waited out
(never dead-lettered), and `sequence-qbo dlq replay` brings poison back to its source topic."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from confluent_kafka import Consumer, TopicPartition

from consumers.runtime import dlq, kafka
from sequence_qbo import cli
from tests.helpers import wait_until
from tests.integration.harness import produce, read_all, running
from tests.integration.runtime.support import TestHandler, records, runtime

pytestmark = pytest.mark.integration


def _env(monkeypatch, settings) -> None:
    monkeypatch.setenv("SEQUENCE_QBO_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    monkeypatch.setenv("SEQUENCE_QBO_TOPIC_DLQ", settings.topics.dlq)


def test_poison_lands_in_the_dlq_and_replay_brings_it_back(settings, monkeypatch, capsys) -> None:
    topic = settings.topics.customer_updated
    good = records(n_keys=50, per_key=4)
    bad = [
        ("k1", b"{not json"),
        ("k2", json.dumps({"id": "p-1", "account_id": "a", "key": "k2", "seq": 99}).encode()),
        (
            "k3",
            json.dumps(
                {"id": "x-1", "account_id": "a", "key": "k3", "seq": 98, "fail_times": 6}
            ).encode(),
        ),
    ]
    produce(settings.kafka_bootstrap, topic, good[:100] + bad + good[100:])
    handler = TestHandler()
    handler.poison_ids.add("p-1")
    rt = runtime(
        settings.kafka_bootstrap,
        topic,
        settings.consumer_group,
        settings.topics.dlq,
        handler,
        backoff_base=0.01,
        backoff_cap=0.05,
    )
    with running(rt):
        wait_until(lambda: rt.processed >= len(good) + 3, message="all messages")
        dead = read_all(settings.kafka_bootstrap, settings.topics.dlq, expected=2)
        assert dlq_size(settings) == 2
        # The rest flowed: every good message of k1..k3 after the poison was handled, in order.
        assert all(handler.seen[f"k{k}"] == [0, 1, 2, 3] for k in range(50) if k != 3)
        # Six failures in a row were waited out, not dead-lettered, and the later events of
        # the key waited behind it.
        assert handler.attempts["x-1"] == 7
        assert handler.seen["k3"] == [0, 1, 98, 2, 3]

        by_class = {dlq.parse_dlq_headers(m.headers())["dlq.error.class"]: m for m in dead}
        assert set(by_class) == {"UndecodableMessage", "InvalidEvent"}
        for m in dead:
            h = dlq.parse_dlq_headers(m.headers())
            assert h["dlq.source.topic"] == topic
            assert int(h["dlq.source.partition"]) in range(3)
            assert int(h["dlq.source.offset"]) >= 0
            assert dt.datetime.fromisoformat(h["dlq.first.failure"]).tzinfo is not None
        assert by_class["UndecodableMessage"].value() == b"{not json"
        assert dlq.parse_dlq_headers(by_class["InvalidEvent"].headers())["dlq.attempts"] == "1"

        # The operator fixes the cause, lists the DLQ and replays the poison back.
        handler.poison_ids.clear()
        _env(monkeypatch, settings)
        assert cli.main(["dlq", "list", "--topic", topic]) == 0
        assert "2 dead-lettered record(s)" in capsys.readouterr().out
        assert cli.main(["dlq", "replay"]) == 2  # nothing selected: refused
        assert cli.main(["dlq", "replay", "--error-class", "InvalidEvent"]) == 0
        assert "re-injected 1 record(s)" in capsys.readouterr().out
        wait_until(lambda: 99 in handler.seen["k2"], message="the replayed record handled")


def ends(settings, topic: str) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "ends"})
    try:
        return {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(3)
        }
    finally:
        c.close()


def dlq_size(settings) -> int:
    """Records in the DLQ topic (its end offsets: nothing is ever deleted from it here)."""
    return sum(ends(settings, settings.topics.dlq).values())


def committed(settings, topic: str) -> dict[int, int]:
    c = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": settings.consumer_group}
    )
    try:
        parts = [TopicPartition(topic, p) for p in range(3)]
        return {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
    finally:
        c.close()


def test_a_record_too_large_to_copy_whole_is_dead_lettered_truncated(
    settings, monkeypatch, capsys
) -> None:
    """The broker takes 1,040,000 bytes (its limit is 1,048,588); the engine's producer refuses
    more than 1,000,000. The copy is truncated, the partition moves on, later records flow."""
    topic = settings.topics.customer_updated
    big = b"{" + b"x" * 1_039_999
    # A producer that may send it (the default one could not).
    producer = kafka.producer(settings.kafka_bootstrap, **{"message.max.bytes": 2_000_000})
    producer.produce(topic, key=b"big", value=big, partition=1)
    assert producer.flush(30) == 0
    after = records(n_keys=30, per_key=2, prefix="after")
    produce(settings.kafka_bootstrap, topic, after)
    handler = TestHandler()
    rt = runtime(
        settings.kafka_bootstrap, topic, settings.consumer_group, settings.topics.dlq, handler
    )
    with running(rt):
        wait_until(lambda: rt.processed >= len(after) + 1, message="every record")
        (copy,) = read_all(settings.kafka_bootstrap, settings.topics.dlq, expected=1)
        h = dlq.parse_dlq_headers(copy.headers())
        assert h["dlq.source.topic"] == topic
        assert h["dlq.source.partition"] == "1"
        assert h["dlq.source.offset"] == "0"
        assert h["dlq.source.size"] == str(len(big))
        assert h["dlq.value.truncated"] == "true"
        assert h["dlq.error.class"] == "UndecodableMessage"
        assert copy.value() == big[: dlq.MAX_COPY_VALUE]
        assert copy.key() == b"big"
        assert len(handler.done_at) == len(after)
        # Not pinned: the group's position in that partition moved past the big record.
        wait_until(
            lambda: committed(settings, topic) == ends(settings, topic), message="offsets committed"
        )

    # A truncated copy cannot be re-injected: the replay refuses, naming the original.
    _env(monkeypatch, settings)
    assert cli.main(["dlq", "replay", "--all"]) == 2
    err = capsys.readouterr().err
    assert "truncated" in err and f"{topic}[1]@0" in err
