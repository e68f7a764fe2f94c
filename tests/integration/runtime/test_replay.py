"""`sequence-qbo replay`: a time window of a topic through the real handlers, by a side consumer
that leaves the live group's offsets alone."""

from __future__ import annotations

import datetime as dt

import pytest
from confluent_kafka import Consumer, TopicPartition
from cryptography.fernet import Fernet

from consumers.runtime import kafka
from schemas import serde
from sequence_qbo import cli, samples
from store import customers

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _produce(settings, ids: range, at: dt.datetime) -> None:
    topic = settings.topics.customer_updated
    codec = serde.make_serde(None)
    producer = kafka.producer(settings.kafka_bootstrap)
    for i in ids:
        value = samples.numbered_customer_event("acct_rp", i, at)
        data = codec.encode("customer.updated", topic, value)
        producer.produce(topic, key=f"cus_{i}", value=data, timestamp=int(at.timestamp() * 1000))
    assert producer.flush(30) == 0


def _replay(capsys, *args: str) -> str:
    assert cli.main(["replay", *args]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.fixture
def env(settings, monkeypatch):
    for name, value in {
        "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "CONSUMER_GROUP": settings.consumer_group,
        "TOPIC_CUSTOMER_UPDATED": settings.topics.customer_updated,
        "TOPIC_DLQ": settings.topics.dlq,
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }.items():
        monkeypatch.setenv(f"SEQUENCE_QBO_{name}", value)
    return settings


def test_replay_a_window_through_the_handlers(env, db, capsys) -> None:
    topic = env.topics.customer_updated
    hour_ago = NOW - dt.timedelta(hours=1)
    _produce(env, range(10), at=hour_ago)
    _produce(env, range(10, 15), at=NOW)
    window = [
        "--topic",
        topic,
        "--from",
        (hour_ago - dt.timedelta(minutes=5)).isoformat(),
        "--to",
        (hour_ago + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S"),
    ]

    assert _replay(capsys, *window, "--dry-run") == "read 10, decodable 10, undecodable 0"
    assert customers.list_snapshots(db, "acct_rp", 100) == []
    assert _replay(capsys, *window) == "read 10, unchanged 0, updated 10, failed 0"
    assert _replay(capsys, *window) == "read 10, unchanged 10, updated 0, failed 0"
    since_now = ["--topic", topic, "--from", NOW.isoformat()]
    assert _replay(capsys, *since_now) == "read 5, unchanged 0, updated 5, failed 0"
    assert len(customers.list_snapshots(db, "acct_rp", 100)) == 15
    # The live group never committed anything.
    live = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.consumer_group})
    try:
        committed = live.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    finally:
        live.close()
    assert all(tp.offset < 0 for tp in committed)


def test_replay_refuses_a_topic_without_handler(env, capsys) -> None:
    assert cli.main(["replay", "--topic", "nope", "--from", "2026-01-01"]) == 2
    assert "not an input topic" in capsys.readouterr().err
