from __future__ import annotations

import datetime as dt
import struct
import uuid

import pytest

from schemas import serde
from sequence_qbo import samples


@pytest.fixture
def local() -> serde.Serde:
    return serde.make_serde(None)


def _customer_event() -> dict:
    return {
        **samples.envelope("acct_1"),
        "customer": samples.customer(
            "cus_1", "O'Brien & Sons", "a@b.example", "1 St", "Leeds", "LS1", "GB", "TAXED"
        ),
    }


def test_round_trip_in_local_mode(local: serde.Serde) -> None:
    event = _customer_event()
    data = local.encode("customer.updated", "any.topic", event)
    assert data[0] == 0
    decoded = local.decode("customer.updated", data)
    assert decoded["customer"]["legal_name"] == "O'Brien & Sons"
    assert decoded["event_id"] == event["event_id"]
    assert decoded["occurred_at"] == event["occurred_at"].replace(
        microsecond=event["occurred_at"].microsecond // 1000 * 1000
    )


def test_local_ids_are_stable_across_instances() -> None:
    a = serde.LocalResolver().schema_id("invoice.paid", "t")
    b = serde.LocalResolver().schema_id("invoice.paid", "other")
    assert a == b and a > 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "empty"),
        (b"", "empty"),
        (b"\x00\x00", "shorter than the header"),
        (b"garbage bytes", "magic byte"),
    ],
)
def test_undecodable_bytes_raise_a_specific_error(local: serde.Serde, data, message) -> None:
    with pytest.raises(serde.UndecodableMessage, match=message):
        local.decode("customer.updated", data)


def test_unknown_schema_id(local: serde.Serde) -> None:
    with pytest.raises(serde.UnknownSchemaId) as info:
        local.decode("customer.updated", struct.pack(">bI", 0, 424242) + b"\x02")
    assert info.value.schema_id == 424242


def test_truncated_avro_body(local: serde.Serde) -> None:
    data = local.encode("customer.updated", "t", _customer_event())
    with pytest.raises(serde.UndecodableMessage, match="cannot read"):
        local.decode("customer.updated", data[:-10])


def test_trailing_bytes_are_rejected(local: serde.Serde) -> None:
    data = local.encode("customer.updated", "t", _customer_event())
    with pytest.raises(serde.UndecodableMessage, match="trailing"):
        local.decode("customer.updated", data + b"\x00")


def test_invalid_record_on_encode(local: serde.Serde) -> None:
    event = _customer_event()
    del event["customer"]
    with pytest.raises(serde.InvalidRecord):
        local.encode("customer.updated", "t", event)


def test_registry_mode_reads_confluent_serializer_output() -> None:
    """Our decoder reads what confluent-kafka's own AvroSerializer writes (mock registry)."""
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    from schemas import loader

    client = SchemaRegistryClient.new_client({"url": "mock://serde-test"})
    ser = AvroSerializer(
        client,
        loader.schema_text("customer.updated"),
        conf={"subject.name.strategy": _topic_strategy()},
    )
    event = _customer_event()
    event["event_id"] = str(event["event_id"])
    data = ser(event, SerializationContext("cu", MessageField.VALUE))
    ours = serde.Serde(serde.RegistryResolver("mock://serde-test", client=client))
    decoded = ours.decode("customer.updated", data)
    assert decoded["customer"]["id"] == "cus_1"
    assert decoded["event_id"] == uuid.UUID(event["event_id"])
    with pytest.raises(serde.UnknownSchemaId):
        ours.decode("customer.updated", struct.pack(">bI", 0, 99999) + data[5:])


def _topic_strategy():
    from confluent_kafka.schema_registry import topic_subject_name_strategy

    return topic_subject_name_strategy


def test_dates_are_dates() -> None:
    s = serde.make_serde(None)
    record = {
        **samples.envelope("a"),
        "invoice_id": "inv",
        "invoice_number": None,
        "realm_id": "1",
        "qbo_invoice_id": "9",
        "currency": "GBP",
        "amount_paid": "12.30",
        "paid_at": dt.date(2026, 11, 2),
        "qbo_payment_ids": ["5"],
    }
    out = s.decode("invoice.paid", s.encode("invoice.paid", "t", record))
    assert out["paid_at"] == dt.date(2026, 11, 2)
    assert out["amount_paid"] == "12.30"


def test_data_from_an_older_writer_schema_is_resolved_to_the_current_one() -> None:
    import copy
    import io

    import fastavro

    from schemas import loader

    older = copy.deepcopy(loader.load_schema("invoice.paid"))
    older["fields"] = [f for f in older["fields"] if f["name"] != "invoice_number"]

    class WithOlder(serde.LocalResolver):
        def writer_schema(self, schema_id: int) -> dict:
            return older if schema_id == 7 else super().writer_schema(schema_id)

    record = {
        **samples.envelope("a"),
        "invoice_id": "inv",
        "realm_id": "1",
        "qbo_invoice_id": "9",
        "currency": "GBP",
        "amount_paid": "1.00",
        "paid_at": dt.date(2026, 1, 2),
        "qbo_payment_ids": [],
    }
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(older, named_schemas={}), record)
    decoded = serde.Serde(WithOlder()).decode(
        "invoice.paid", struct.pack(">bI", 0, 7) + buf.getvalue()
    )
    assert decoded["invoice_number"] is None  # the current field's default
    assert decoded["amount_paid"] == "1.00"
