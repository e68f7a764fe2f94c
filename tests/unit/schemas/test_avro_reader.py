"""The generated reader (schemas/_avro_reader.py) against fastavro, the authority: the same
record for every well-formed message of every event schema, and for damaged bytes either the
same record as fastavro or a refusal (so that Serde.decode asks fastavro, which says why)."""

from __future__ import annotations

import datetime as dt
import io
import random
import uuid
from typing import Any

import fastavro
import pytest

from schemas import loader
from schemas._avro_reader import compile_reader
from schemas.serde import LocalResolver, Serde, UndecodableMessage


def _has(event: str, version: str | None) -> bool:
    try:
        loader.load_schema(event, version)
    except KeyError:
        return False
    return True


SCHEMAS = [
    (event, version)
    for version in [None, *loader.released_versions()]
    for event in loader.EVENTS
    if _has(event, version)
]
TEXT = ["", "a", "O'Brien & Sons", "東京商事株式会社", "Zoë — €5", "x" * 200, "\x00\n\t"]
LONGS = [0, 1, -1, 63, 64, -65, 2**31 - 1, -(2**31), 2**62, -(2**63)]


def _parsed(event: str, version: str | None) -> tuple[Any, dict[str, Any]]:
    named: dict[str, Any] = {}
    return fastavro.parse_schema(loader.load_schema(event, version), named_schemas=named), named


def _value(schema: Any, named: dict[str, Any], rng: random.Random, depth: int = 0) -> Any:
    """A random value of `schema` (parsed), every branch and edge reachable."""
    if isinstance(schema, list):
        return _value(rng.choice(schema), named, rng, depth)
    if isinstance(schema, str):
        if schema in named:
            return _value(named[schema], named, rng, depth)
        schema = {"type": schema}
    kind, logical = schema["type"], schema.get("logicalType")
    if logical == "uuid":
        return uuid.UUID(int=rng.getrandbits(128))
    if logical == "date":
        return dt.date(2026, 11, 1) + dt.timedelta(days=rng.randint(-40000, 40000))
    if logical == "timestamp-millis":
        ms = rng.randint(-(10**12), 10**13)
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
    if kind == "record":
        return {f["name"]: _value(f["type"], named, rng, depth + 1) for f in schema["fields"]}
    if kind == "enum":
        return rng.choice(schema["symbols"])
    if kind == "array":
        n = rng.choice([0, 1, 2, 3]) if depth < 6 else 0
        return [_value(schema["items"], named, rng, depth + 1) for _ in range(n)]
    if kind == "string":
        return rng.choice(TEXT)
    if kind in ("int", "long"):
        return rng.choice(LONGS[:8] if kind == "int" else LONGS)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if isinstance(kind, (dict, list)):
        return _value(kind, named, rng, depth)
    raise AssertionError(f"no generator for {kind}")


def _fastavro(data: bytes, parsed: Any) -> tuple[Any, int]:
    buf = io.BytesIO(data)
    return fastavro.schemaless_reader(buf, parsed, None), buf.tell()


@pytest.mark.parametrize("event, version", SCHEMAS)
def test_every_event_schema_gets_a_generated_reader(event: str, version: str | None) -> None:
    assert compile_reader(*_parsed(event, version)) is not None


@pytest.mark.parametrize("event, version", SCHEMAS)
def test_same_records_as_fastavro(event: str, version: str | None) -> None:
    parsed, named = _parsed(event, version)
    reader = compile_reader(parsed, named)
    assert reader is not None
    rng = random.Random(f"{event}{version}")
    for _ in range(150):
        out = io.BytesIO()
        fastavro.schemaless_writer(out, parsed, _value(parsed, named, rng))
        data = out.getvalue()
        assert reader(data, 0) == (_fastavro(data, parsed)[0], len(data))


@pytest.mark.parametrize("event", ["invoice.finalized", "customer.updated", "credit_note.sent"])
def test_damaged_bytes_are_refused_or_read_as_fastavro_reads_them(event: str) -> None:
    parsed, named = _parsed(event, None)
    reader = compile_reader(parsed, named)
    assert reader is not None
    rng = random.Random(event)
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, _value(parsed, named, rng))
    good = out.getvalue()
    damaged = [good[:n] for n in range(len(good))]
    for _ in range(1500):
        spoilt = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            spoilt[rng.randrange(len(spoilt))] = rng.randrange(256)
        damaged.append(bytes(spoilt))
    refused = 0
    for data in damaged:
        try:
            record, end = reader(data, 0)
        except Exception:
            refused += 1
            continue
        if end != len(data):
            refused += 1
            continue
        assert (record, end) == _fastavro(data, parsed), data
    assert refused > len(good)  # every truncation at least: the check has teeth


def test_a_blocked_array_with_its_byte_size_is_read() -> None:
    """Avro lets a writer give a block's count negative, followed by its size in bytes."""
    parsed, named = _parsed("customer.updated", None)
    reader = compile_reader(parsed, named)
    assert reader is not None
    value = _value(parsed, named, random.Random(1))
    value["customer"]["billing_emails"] = []
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, value)
    plain = out.getvalue()
    # billing_emails is the only array: its empty block (a single 0 byte) follows the email.
    email = value["customer"]["email"].encode()
    at = plain.index(email) + len(email)
    assert plain[at] == 0
    blocked = plain[:at] + bytes([3, 6, 2, ord("a"), 2, ord("b"), 0]) + plain[at + 1 :]
    expected = _fastavro(blocked, parsed)
    assert expected[0]["customer"]["billing_emails"] == ["a", "b"]
    assert reader(blocked, 0) == expected


def test_serde_falls_back_to_fastavro_for_what_the_reader_refuses() -> None:
    serde = Serde(LocalResolver())
    parsed, named = _parsed("invoice.finalized", None)
    raw = serde.encode("invoice.finalized", "t", _value(parsed, named, random.Random(2)))
    assert serde.decode("invoice.finalized", raw) == _fastavro(raw[5:], parsed)[0]
    with pytest.raises(UndecodableMessage, match=r"cannot read invoice\.finalized"):
        serde.decode("invoice.finalized", raw[:-3])
    with pytest.raises(UndecodableMessage, match="trailing bytes"):
        serde.decode("invoice.finalized", raw + b"\x00")


@pytest.mark.parametrize(
    "field_type",
    [
        {"type": "map", "values": "string"},
        "double",
        "bytes",
        {"type": "fixed", "name": "F", "size": 2},
        {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2},
        {"type": "string", "logicalType": "made-up"},
        ["null", {"type": "map", "values": "long"}],
    ],
)
def test_a_schema_with_what_the_reader_does_not_generate_gets_none(field_type: Any) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "f", "type": field_type}]}
    named: dict[str, Any] = {}
    assert compile_reader(fastavro.parse_schema(schema, named_schemas=named), named) is None


def test_a_recursive_or_too_deep_schema_gets_none_rather_than_an_error() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "next", "type": ["null", "Node"]}],
    }
    named: dict[str, Any] = {}
    assert compile_reader(fastavro.parse_schema(node, named_schemas=named), named) is None
    deep: Any = "string"
    for _ in range(200):
        deep = ["null", {"type": "array", "items": deep}]
    schema = {"type": "record", "name": "Deep", "fields": [{"name": "f", "type": deep}]}
    named = {}
    assert compile_reader(fastavro.parse_schema(schema, named_schemas=named), named) is None
