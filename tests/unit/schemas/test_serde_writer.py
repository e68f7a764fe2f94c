"""A writer schema the registry holds but that is not usable Avro is poison (NotAvroSchema, an
UndecodableMessage), never an exception that escapes decoding."""

from __future__ import annotations

import json
import struct

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from schemas import serde


def _framed(schema_id: int, body: bytes = b"\x02") -> bytes:
    return struct.pack(">bI", 0, schema_id) + body


@pytest.fixture
def registry():
    client = SchemaRegistryClient.new_client({"url": "mock://serde-writer-test"})
    codec = serde.Serde(serde.RegistryResolver("mock://serde-writer-test", client=client))
    return client, codec


def test_a_json_schema_writer_is_poison(registry) -> None:
    client, codec = registry
    schema_id = client.register_schema("js-value", Schema(json.dumps({"type": "object"}), "JSON"))
    for _ in range(2):  # the second time from the resolver's memory of the refusal
        with pytest.raises(serde.NotAvroSchema, match=f"schema id {schema_id} is JSON, not Avro"):
            codec.decode("customer.updated", _framed(schema_id))


def test_an_avro_schema_that_does_not_parse_is_poison(registry) -> None:
    client, codec = registry
    bad = json.dumps({"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]})
    schema_id = client.register_schema("bad-value", Schema(bad, "AVRO"))
    with pytest.raises(serde.NotAvroSchema, match="not a valid Avro schema"):
        codec.decode("customer.updated", _framed(schema_id))
    assert issubclass(serde.NotAvroSchema, serde.UndecodableMessage)
