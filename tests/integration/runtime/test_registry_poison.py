"""A record whose writer schema in the Schema Registry is not Avro (a JSON Schema registered under
its id) is dead-lettered with the reason, and the consumer keeps going: later records of the same
key and partition are handled. Runs against the real registry (Apicurio, `make infra-up`)."""

from __future__ import annotations

import json
import struct
import threading

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from consumers.runtime import dlq, kafka
from consumers.runtime.concurrent import ConcurrentRuntime, RuntimeOptions
from consumers.runtime.engine import EngineOptions
from consumers.runtime.types import Done, Event, Outcome
from publishing import KafkaPublisher
from schemas.serde import RegistryResolver, Serde
from sequence_qbo import samples
from tests.helpers import wait_until
from tests.integration.harness import produce, read_all, running

pytestmark = pytest.mark.integration

JSON_SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}}}


class Recorder:
    event = "customer.updated"

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.lock = threading.Lock()

    def handle(self, event: Event) -> Outcome:
        with self.lock:
            self.seen.append(event.message.offset)
        return Done()


def test_a_json_schema_writer_is_poison_and_the_consumer_keeps_running(
    settings, schema_registry_url
) -> None:
    topic = settings.topics.customer_updated
    client = SchemaRegistryClient.new_client({"url": schema_registry_url})
    json_id = client.register_schema(f"{topic}.json-value", Schema(json.dumps(JSON_SCHEMA), "JSON"))
    codec = Serde(RegistryResolver(schema_registry_url, client=client))

    def avro(i: int) -> bytes:
        return codec.encode("customer.updated", topic, samples.numbered_customer_event("a", i))

    not_avro = b"\x00" + struct.pack(">I", json_id) + json.dumps({"id": "x"}).encode()
    # One key: one partition, the JSON-framed record between two good ones.
    produce(settings.kafka_bootstrap, topic, [("k", avro(0)), ("k", not_avro), ("k", avro(1))])

    handler = Recorder()
    rt = ConcurrentRuntime(
        consumer=kafka.consumer(settings.kafka_bootstrap, settings.consumer_group),
        dead_letters=KafkaPublisher(settings.kafka_bootstrap),
        serde=Serde(RegistryResolver(schema_registry_url, client=client)),
        handlers={topic: handler},
        dlq_topic=settings.topics.dlq,
        options=RuntimeOptions(engine=EngineOptions(backoff_base=0.05)),
    )
    with running(rt):
        wait_until(lambda: rt.processed == 3, message="three records done with")
        (copy,) = read_all(settings.kafka_bootstrap, settings.topics.dlq, expected=1)
    assert handler.seen == [0, 2]  # the consumer went on past it, in order
    h = dlq.parse_dlq_headers(copy.headers())
    assert h["dlq.error.class"] == "NotAvroSchema"
    assert h["dlq.reason"] == f"writer schema id {json_id} is JSON, not Avro"
    assert h["dlq.source.offset"] == "1"
    assert copy.value() == not_avro
