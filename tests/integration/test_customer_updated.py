"""customer.updated end to end: real broker, real PostgreSQL, events produced with
confluent-kafka's own AvroSerializer against the Schema Registry."""

from __future__ import annotations

import datetime as dt
import struct
import uuid

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from consumers.customers import CustomerUpdatedHandler
from consumers.runtime import dlq, kafka
from consumers.runtime.sequential import SequentialRuntime
from publishing import KafkaPublisher
from schemas import loader, serde
from sequence_qbo import samples
from sequence_qbo.settings import Settings
from store import customers
from store.db import Database
from tests.helpers import wait_until
from tests.integration.harness import produce, read_all, running

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(schema_registry_url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient.new_client({"url": schema_registry_url})


def _serializer(registry: SchemaRegistryClient) -> AvroSerializer:
    return AvroSerializer(
        registry,
        loader.schema_text("customer.updated"),
        conf={"subject.name.strategy": topic_subject_name_strategy},
    )


def _event(cid: str, name: str, occurred_at: dt.datetime | None = None) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": occurred_at or dt.datetime.now(dt.UTC),
        "account_id": "acct_it",
        "customer": samples.customer(
            cid, name, f"{cid}@x.example", "1 St", "Leeds", "LS1 1AA", "GB", "TAXED"
        ),
    }


def _runtime(
    settings: Settings, db: Database, registry: SchemaRegistryClient, group: str | None = None
) -> SequentialRuntime:
    return SequentialRuntime(
        consumer=kafka.consumer(settings.kafka_bootstrap, group or settings.consumer_group),
        dead_letters=KafkaPublisher(settings.kafka_bootstrap),
        serde=serde.Serde(serde.RegistryResolver("unused", client=registry)),
        handlers={settings.topics.customer_updated: CustomerUpdatedHandler(db)},
        dlq_topic=settings.topics.dlq,
        backoff_base=0.05,
    )


def _produce_avro(settings: Settings, registry: SchemaRegistryClient, events: list[dict]) -> None:
    topic = settings.topics.customer_updated
    ser = _serializer(registry)
    ctx = SerializationContext(topic, MessageField.VALUE)
    produce(settings.kafka_bootstrap, topic, [(e["customer"]["id"], ser(e, ctx)) for e in events])


def _stored(db: Database) -> dict[str, dict]:
    return {r["customer_id"]: r for r in customers.list_snapshots(db, "acct_it", 1000)}


def test_snapshot_is_stored_from_the_broker(settings, db, registry) -> None:
    events = [
        _event("cus_1", "Acme Ltd"),
        _event("cus_2", 'O\'Brien & Sons "UK"'),
        _event("cus_3", "東京商事株式会社"),
    ]
    _produce_avro(settings, registry, events)
    with running(_runtime(settings, db, registry)):
        rows = wait_until(lambda: len(_stored(db)) == 3 and _stored(db), message="3 snapshots")
    assert rows["cus_2"]["snapshot"]["legal_name"] == 'O\'Brien & Sons "UK"'
    assert rows["cus_3"]["snapshot"]["legal_name"] == "東京商事株式会社"
    assert rows["cus_1"]["snapshot"]["address"] == {
        "line1": "1 St",
        "line2": None,
        "town": "Leeds",
        "state": None,
        "postcode": "LS1 1AA",
        "country": "GB",
    }
    row = customers.get_snapshot(db, "acct_it", "cus_1")
    assert row is not None and str(row["last_event_id"]) == events[0]["event_id"]


def test_replaying_the_topic_changes_nothing(settings, db, registry) -> None:
    _produce_avro(settings, registry, [_event(f"cus_{i}", f"Customer {i}") for i in range(20)])
    with running(_runtime(settings, db, registry)) as first:
        wait_until(lambda: first.processed == 20, message="first pass")
    before = _stored(db)
    # A side consumer in a new group reads the whole topic again.
    with running(_runtime(settings, db, registry, group=f"replay-{uuid.uuid4().hex}")) as again:
        wait_until(lambda: again.processed == 20, message="replay")
    assert _stored(db) == before  # same snapshots, same updated_at: nothing was written


def test_an_older_event_never_overwrites_a_newer_snapshot(settings, db, registry) -> None:
    now = dt.datetime.now(dt.UTC)
    _produce_avro(
        settings,
        registry,
        [
            _event("cus_1", "New name", occurred_at=now),
            _event("cus_1", "Old name", occurred_at=now - dt.timedelta(hours=1)),
        ],
    )
    with running(_runtime(settings, db, registry)) as rt:
        wait_until(lambda: rt.processed == 2, message="both events")
    assert _stored(db)["cus_1"]["snapshot"]["legal_name"] == "New name"


def test_poison_messages_go_to_the_dlq_and_the_consumer_keeps_going(settings, db, registry) -> None:
    topic = settings.topics.customer_updated
    garbage = b"definitely not avro"
    unknown_id = struct.pack(">bI", 0, 987654) + b"\x00\x01\x02"
    ser = _serializer(registry)
    bad_email = _event("cus_bad", "Bad")
    bad_email["customer"]["address"]["country"] = "GBR"  # not alpha-2: invalid event
    good = _event("cus_ok", "Fine Ltd")
    ctx = SerializationContext(topic, MessageField.VALUE)
    # One key, so the partition and the order are the same for all four.
    produce(
        settings.kafka_bootstrap,
        topic,
        [
            ("k", garbage),
            ("k", unknown_id),
            ("k", ser(bad_email, ctx)),
            ("k", ser(good, ctx)),
        ],
    )
    with running(_runtime(settings, db, registry)):
        wait_until(lambda: "cus_ok" in _stored(db), message="the good message after the poison")
        dead = read_all(settings.kafka_bootstrap, settings.topics.dlq, expected=3)
    assert "cus_bad" not in _stored(db)
    headers = [dlq.parse_dlq_headers(m.headers()) for m in dead]
    assert [m.value() for m in dead][:2] == [garbage, unknown_id]
    assert all(m.key() == b"k" for m in dead)
    assert [h["dlq.error.class"] for h in headers] == [
        "UndecodableMessage",
        "UnknownSchemaId",
        "InvalidEvent",
    ]
    assert "magic byte" in headers[0]["dlq.reason"]
    assert "987654" in headers[1]["dlq.reason"]
    assert "country" in headers[2]["dlq.reason"]
    offsets = sorted(int(h["dlq.source.offset"]) for h in headers)
    assert offsets == [offsets[0], offsets[0] + 1, offsets[0] + 2]
    for h in headers:
        assert h["dlq.source.topic"] == topic
        assert int(h["dlq.source.partition"]) in range(3)
        assert h["dlq.attempts"] == "1"
        assert dt.datetime.fromisoformat(h["dlq.first.failure"]).tzinfo is not None
