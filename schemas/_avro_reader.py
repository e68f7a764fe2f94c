"""A reader generated per writer schema for the common case: well-formed Avro binary of the
schema the consumer reads (no resolution). fastavro stays the authority: a schema using a type
this reader does not generate (map, fixed, bytes, float, double, an unknown logical type…) gets
no reader, and any oddity in the bytes (truncated, a bad union or enum index, bad UTF-8, extra
bytes) raises, so that the caller reads the message with fastavro instead and gets its result or
its error. fastavro's generic reader spends ~19 µs on an invoice; this one, straight-line code
for the one schema, about a third of that (bench/month_end.py P5).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastavro.read import LOGICAL_READERS

Reader = Callable[[bytes, int], tuple[Any, int]]  # (data, start) → (record, end)

# Logical types read with fastavro's own converters (same objects, same values).
_LOGICAL = {"int-date", "long-timestamp-millis", "long-timestamp-micros", "string-uuid"}
_PRIMITIVE = {"null", "boolean", "int", "long", "string"}


class Unsupported(Exception):
    """The schema uses something this reader does not generate: read it with fastavro."""


def _long_tail(data: bytes, p: int, b: int) -> tuple[int, int]:
    """A varint of more than one byte (the first, `b`, already read): zigzag-decoded."""
    n = b & 0x7F
    shift = 7
    while True:
        b = data[p]
        p += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return (n >> 1) ^ -(n & 1), p
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


class _Generator:
    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.consts: dict[str, Any] = {"_long_tail": _long_tail}
        self.functions: list[str] = []
        self.records: dict[str, str] = {}  # record fullname → its function's name
        self.pending: set[str] = set()  # records being generated (recursion is unsupported)
        self.n = 0

    def var(self, stem: str) -> str:
        self.n += 1
        return f"{stem}{self.n}"

    def const(self, value: Any) -> str:
        name = self.var("_c")
        self.consts[name] = value
        return name

    def read(self, schema: Any, target: str, ind: str) -> list[str]:
        """Lines that read one value of `schema` from data[p:] into `target`."""
        if isinstance(schema, str):
            if schema in _PRIMITIVE:
                return self.primitive(schema, target, ind)
            if schema in self.named:
                return self.read(self.named[schema], target, ind)
            raise Unsupported(schema)
        if isinstance(schema, list):
            return self.union(schema, target, ind)
        kind = schema.get("type")
        if "logicalType" in schema:
            key = f"{kind}-{schema['logicalType']}"
            if key not in _LOGICAL:
                raise Unsupported(key)
            fn, sch = self.const(LOGICAL_READERS[key]), self.const(schema)
            return [
                *self.primitive(kind, target, ind),
                f"{ind}{target} = {fn}({target}, {sch}, None)",
            ]
        if kind == "record":
            return [f"{ind}{target}, p = {self.record(schema)}(data, p)"]
        if kind == "enum":
            return self.enum(schema, target, ind)
        if kind == "array":
            return self.array(schema, target, ind)
        if isinstance(kind, str) and kind in _PRIMITIVE:
            return self.primitive(kind, target, ind)
        raise Unsupported(str(kind))

    def long(self, target: str, ind: str) -> list[str]:
        return [
            f"{ind}b = data[p]",
            f"{ind}p += 1",
            f"{ind}if b < 0x80:",
            f"{ind}    {target} = (b >> 1) ^ -(b & 1)",
            f"{ind}else:",
            f"{ind}    {target}, p = _long_tail(data, p, b)",
        ]

    def primitive(self, kind: str, target: str, ind: str) -> list[str]:
        if kind == "null":
            return [f"{ind}{target} = None"]
        if kind == "boolean":
            return [
                f"{ind}b = data[p]",
                f"{ind}p += 1",
                f"{ind}if b > 1:",
                f"{ind}    raise ValueError('boolean byte')",
                f"{ind}{target} = b == 1",
            ]
        if kind in ("int", "long"):
            return self.long(target, ind)
        if kind == "string":
            n = self.var("n")
            return [
                *self.long(n, ind),
                f"{ind}if {n} < 0:",
                f"{ind}    raise ValueError('negative length')",
                f"{ind}{target} = data[p:p + {n}].decode()",
                f"{ind}p += {n}",
            ]
        raise Unsupported(kind)

    def union(self, branches: list[Any], target: str, ind: str) -> list[str]:
        i = self.var("i")
        lines = self.long(i, ind)
        for k, branch in enumerate(branches):
            lines.append(f"{ind}{'if' if k == 0 else 'elif'} {i} == {k}:")
            lines += self.read(branch, target, ind + "    ")
        lines += [f"{ind}else:", f"{ind}    raise ValueError('union index')"]
        return lines

    def enum(self, schema: Mapping[str, Any], target: str, ind: str) -> list[str]:
        i, symbols = self.var("i"), self.const(tuple(schema["symbols"]))
        return [
            *self.long(i, ind),
            f"{ind}if {i} < 0:",
            f"{ind}    raise ValueError('enum index')",
            f"{ind}{target} = {symbols}[{i}]",
        ]

    def array(self, schema: Mapping[str, Any], target: str, ind: str) -> list[str]:
        items = schema["items"]
        if items == "null":
            raise Unsupported("array of null")
        count, item = self.var("c"), self.var("x")
        return [
            f"{ind}{target} = []",
            f"{ind}while True:",
            *self.long(count, ind + "    "),
            f"{ind}    if {count} == 0:",
            f"{ind}        break",
            f"{ind}    if {count} < 0:",  # a block with its size in bytes: the size is not needed
            f"{ind}        {count} = -{count}",
            *self.long("_", ind + "        "),
            f"{ind}    if {count} > len(data):",
            f"{ind}        raise ValueError('block count')",
            f"{ind}    for _ in range({count}):",
            *self.read(items, item, ind + "        "),
            f"{ind}        {target}.append({item})",
        ]

    def record(self, schema: Mapping[str, Any]) -> str:
        name = schema["name"]
        if name in self.records:
            return self.records[name]
        if name in self.pending:
            raise Unsupported(f"recursive record {name}")
        self.pending.add(name)
        fn = self.var("_record")
        lines = [f"def {fn}(data, p):"]
        values = []
        for field in schema["fields"]:
            value = self.var("v")
            lines += self.read(field["type"], value, "    ")
            values.append(f"{field['name']!r}: {value}")
        lines.append(f"    return {{{', '.join(values)}}}, p")
        self.functions.append("\n".join(lines))
        self.records[name] = fn
        self.pending.discard(name)
        return fn


def compile_reader(parsed: Any, named: Mapping[str, Any]) -> Reader | None:
    """A reader for records of `parsed` (fastavro-parsed, its named types in `named`): given the
    message and where the record starts, the record and where it ends; None when the schema
    needs fastavro."""
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return None
    gen = _Generator(named)
    namespace = dict(gen.consts)
    try:
        top = gen.record(parsed)
        namespace.update(gen.consts)
        # Generated above; from the schema only repr() of field names reaches the code.
        exec("\n\n".join(gen.functions), namespace)  # noqa: S102
    except Exception:  # Unsupported, or a schema too deep to compile: fastavro reads it
        return None
    reader: Reader = namespace[top]
    return reader
