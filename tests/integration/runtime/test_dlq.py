"""Poison and exhausted messages go to the DLQ with their headers while the rest flow, and
`sequence-qbo dlq replay` brings them back to their source topic."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from consumers.runtime import dlq
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
                {"id": "x-1", "account_id": "a", "key": "k3", "seq": 98, "fail_times": 99}
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
        max_attempts=3,
        backoff_base=0.01,
    )
    with running(rt):
        wait_until(lambda: rt.processed >= len(good) + 3, message="all messages")
        dead = read_all(settings.kafka_bootstrap, settings.topics.dlq, expected=3)
        # The rest flowed: every good message of k1..k3 after the poison was handled, in order.
        assert all(handler.seen[f"k{k}"] == [0, 1, 2, 3] for k in range(50))

        by_class = {dlq.parse_dlq_headers(m.headers())["dlq.error.class"]: m for m in dead}
        assert set(by_class) == {"UndecodableMessage", "InvalidEvent", "RetriesExhausted"}
        for m in dead:
            h = dlq.parse_dlq_headers(m.headers())
            assert h["dlq.source.topic"] == topic
            assert int(h["dlq.source.partition"]) in range(3)
            assert int(h["dlq.source.offset"]) >= 0
            assert dt.datetime.fromisoformat(h["dlq.first.failure"]).tzinfo is not None
        exhausted = dlq.parse_dlq_headers(by_class["RetriesExhausted"].headers())
        assert exhausted["dlq.attempts"] == "3"
        assert "ConnectionError" in exhausted["dlq.reason"]
        assert by_class["UndecodableMessage"].value() == b"{not json"
        assert dlq.parse_dlq_headers(by_class["InvalidEvent"].headers())["dlq.attempts"] == "1"

        # The operator fixes the cause, lists the DLQ and replays the poison back.
        handler.poison_ids.clear()
        _env(monkeypatch, settings)
        assert cli.main(["dlq", "list", "--topic", topic]) == 0
        assert "3 dead-lettered record(s)" in capsys.readouterr().out
        assert cli.main(["dlq", "replay"]) == 2  # nothing selected: refused
        assert cli.main(["dlq", "replay", "--error-class", "InvalidEvent"]) == 0
        assert "re-injected 1 record(s)" in capsys.readouterr().out
        wait_until(lambda: 99 in handler.seen["k2"], message="the replayed record handled")
