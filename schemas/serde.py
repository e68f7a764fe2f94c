"""Avro serde in Confluent's wire format: byte 0 (magic), a 4-byte big-endian schema id, then
Avro binary.

Two resolvers share the same encode/decode path:
- `RegistryResolver`: schema ids from a Confluent-compatible Schema Registry
  (`confluent_kafka.schema_registry`), subjects named `<topic>-value` (TopicNameStrategy).
- `LocalResolver`: no registry (development). Ids are a CRC-32 of each schema's canonical text,
  so every process derives the same ids from `schemas/` without coordination.

Decoding parses the writer schema once per id and reads with fastavro directly, resolving to the
current reader schema (a cached fast path; see bench/serde.py). A message written with the
current schema itself (most) is read by a reader generated for that schema (`_avro_reader`),
with fastavro as the fallback for anything that reader does not take.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any, Protocol

import fastavro
from fastavro.types import Schema as ParsedSchema

from schemas import loader
from schemas._avro_reader import Reader, compile_reader

MAGIC = 0
_HEADER = struct.Struct(">bI")


class SerdeError(Exception):
    """Root of the serde errors."""


class UndecodableMessage(SerdeError):
    """The bytes are not a valid Confluent-framed Avro record (poison: dead-letter it)."""


class UnknownSchemaId(UndecodableMessage):
    """The message names a schema id nobody knows (poison: dead-letter it)."""

    def __init__(self, schema_id: int) -> None:
        super().__init__(f"unknown schema id {schema_id}")
        self.schema_id = schema_id


class NotAvroSchema(UndecodableMessage):
    """The message's writer schema is not a usable Avro schema (a JSON Schema or Protobuf one
    registered under the id, or text that does not parse): poison, dead-letter it."""


class RegistryUnavailable(SerdeError):
    """The Schema Registry could not be asked (transient: retry later, don't dead-letter)."""


class InvalidRecord(SerdeError):
    """A record does not fit its schema (a bug on the producing side)."""


class SchemaResolver(Protocol):
    def writer_schema(self, schema_id: int) -> dict[str, Any]: ...

    def schema_id(self, event: str, topic: str) -> int: ...


def _canonical(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, separators=(",", ":"), sort_keys=True)


class LocalResolver:
    """Ids from the schemas on disk (current and released); no network."""

    def __init__(self) -> None:
        self._by_id: dict[int, dict[str, Any]] = {}
        self._ids: dict[str, int] = {}
        for version in [None, *loader.released_versions()]:
            for event in loader.EVENTS:
                try:
                    schema = loader.load_schema(event, version)
                except KeyError:
                    continue  # an event added after that release
                self._by_id[self.local_id(schema)] = schema

    @staticmethod
    def local_id(schema: Mapping[str, Any]) -> int:
        return zlib.crc32(_canonical(schema).encode()) & 0x7FFFFFFF

    def writer_schema(self, schema_id: int) -> dict[str, Any]:
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise UnknownSchemaId(schema_id) from None

    def schema_id(self, event: str, topic: str) -> int:
        if event not in self._ids:  # canonical JSON + CRC costs ~160 µs: once per event
            self._ids[event] = self.local_id(loader.load_schema(event))
        return self._ids[event]


class RegistryResolver:
    """Ids from a Confluent-compatible Schema Registry; answers are cached per process."""

    def __init__(self, url: str, client: Any | None = None) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        self.client = client or SchemaRegistryClient.new_client({"url": url})
        self._schemas: dict[int, dict[str, Any]] = {}
        self._not_avro: dict[int, str] = {}  # ids refused once are not asked for again
        self._ids: dict[tuple[str, str], int] = {}

    def writer_schema(self, schema_id: int) -> dict[str, Any]:
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        if schema_id in self._not_avro:
            raise NotAvroSchema(self._not_avro[schema_id])
        if schema_id not in self._schemas:
            try:
                schema = self.client.get_schema(schema_id)
            except SchemaRegistryError as exc:
                if exc.http_status_code == 404:
                    raise UnknownSchemaId(schema_id) from exc
                raise RegistryUnavailable(f"schema registry: {exc}") from exc
            except Exception as exc:  # connection errors from the HTTP client
                raise RegistryUnavailable(f"schema registry unreachable: {exc}") from exc
            try:
                self._schemas[schema_id] = _avro_json(
                    schema_id, schema.schema_type, schema.schema_str
                )
            except NotAvroSchema as exc:
                self._not_avro[schema_id] = str(exc)
                raise
        return self._schemas[schema_id]

    def schema_id(self, event: str, topic: str) -> int:
        from confluent_kafka.schema_registry import Schema
        from confluent_kafka.schema_registry.error import SchemaRegistryError

        key = (event, topic)
        if key not in self._ids:
            text = loader.schema_text(event)
            try:
                self._ids[key] = self.client.register_schema(f"{topic}-value", Schema(text, "AVRO"))
            except SchemaRegistryError as exc:
                raise RegistryUnavailable(f"could not register {event} for {topic}: {exc}") from exc
        return self._ids[key]


def _avro_json(schema_id: int, schema_type: str | None, text: str | None) -> dict[str, Any]:
    """The registry's schema as Avro JSON; NotAvroSchema when it is of another type or does not
    parse (the registry says "AVRO" when it names no type)."""
    kind = (schema_type or "AVRO").upper()
    if kind != "AVRO":
        raise NotAvroSchema(f"writer schema id {schema_id} is {kind}, not Avro")
    try:
        parsed = json.loads(text or "")
    except ValueError as exc:
        raise NotAvroSchema(f"writer schema id {schema_id} is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise NotAvroSchema(f"writer schema id {schema_id} is not an Avro record schema")
    return parsed


class Serde:
    """Encodes and decodes the project's events; `event` is the .avsc stem (e.g. "invoice.paid")."""

    def __init__(self, resolver: SchemaResolver) -> None:
        self.resolver = resolver
        self._parsed: dict[int, ParsedSchema] = {}
        self._fast: dict[int, Reader | None] = {}  # per writer schema id, see _avro_reader
        self._readers: dict[str, ParsedSchema] = {}
        self._same: dict[tuple[int, str], bool] = {}

    def encode(self, event: str, topic: str, record: Mapping[str, Any]) -> bytes:
        schema_id = self.resolver.schema_id(event, topic)
        out = io.BytesIO()
        out.write(_HEADER.pack(MAGIC, schema_id))
        schema = self._reader(event)
        try:
            fastavro.schemaless_writer(out, schema, dict(record))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InvalidRecord(f"{event}: {exc}") from exc
        return out.getvalue()

    def decode(self, event: str, data: bytes | None) -> dict[str, Any]:
        """The record, resolved to the current schema of `event`."""
        schema_id = self.schema_id_of(data)
        writer = self._writer(schema_id)
        reader = self._resolution(schema_id, event)
        if reader is None and isinstance(data, bytes):
            fast = self._read_fast(schema_id, data)
            if fast is not None:
                return fast
        buf = io.BytesIO(data)  # type: ignore[arg-type]  # checked by schema_id_of
        buf.seek(_HEADER.size)
        try:
            record = fastavro.schemaless_reader(buf, writer, reader)
        except Exception as exc:  # fastavro raises a zoo: EOFError, ValueError, resolution errors
            raise UndecodableMessage(
                f"cannot read {event} with schema id {schema_id}: {type(exc).__name__}: {exc}"
            ) from exc
        trailing = len(buf.getbuffer()) - buf.tell()
        if trailing:
            raise UndecodableMessage(f"{trailing} trailing bytes after the record")
        if not isinstance(record, dict):
            raise UndecodableMessage(f"{event}: not a record")
        return record

    def _read_fast(self, schema_id: int, data: bytes) -> dict[str, Any] | None:
        """The record by the generated reader, or None: no reader for this schema, or bytes it
        refuses (fastavro then reads them, or says what is wrong with them)."""
        fast = self._fast.get(schema_id)
        if fast is None:
            return None
        try:
            record, end = fast(data, _HEADER.size)
        except Exception:  # any oddity, whatever the exception: fastavro has the last word
            return None
        return record if end == len(data) and isinstance(record, dict) else None

    @staticmethod
    def schema_id_of(data: bytes | None) -> int:
        if not data:
            raise UndecodableMessage("empty message value")
        if len(data) < _HEADER.size:
            raise UndecodableMessage(f"message of {len(data)} bytes is shorter than the header")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise UndecodableMessage(f"unknown magic byte {magic} (not Confluent wire format)")
        return int(schema_id)

    def _writer(self, schema_id: int) -> ParsedSchema:
        if schema_id not in self._parsed:
            schema = self.resolver.writer_schema(schema_id)
            named: dict[str, Any] = {}
            try:
                parsed = fastavro.parse_schema(schema, named_schemas=named)
            except Exception as exc:  # fastavro raises SchemaParseException, UnknownType, …
                raise NotAvroSchema(
                    f"writer schema id {schema_id} is not a valid Avro schema: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self._parsed[schema_id] = parsed
            self._fast[schema_id] = compile_reader(parsed, named)
        return self._parsed[schema_id]

    def _resolution(self, schema_id: int, event: str) -> ParsedSchema | None:
        """The reader schema to resolve to, or None when the writer's is the same one (most
        messages): fastavro's resolution costs about half the decode time."""
        key = (schema_id, event)
        if key not in self._same:
            writer = self.resolver.writer_schema(schema_id)
            self._same[key] = _canonical(writer) == _canonical(loader.load_schema(event))
        return None if self._same[key] else self._reader(event)

    def _reader(self, event: str) -> ParsedSchema:
        if event not in self._readers:
            schema = loader.load_schema(event)
            self._readers[event] = fastavro.parse_schema(schema, named_schemas={})
        return self._readers[event]


def make_serde(registry_url: str | None) -> Serde:
    """Registry mode when a URL is configured, local mode otherwise."""
    return Serde(RegistryResolver(registry_url) if registry_url else LocalResolver())
