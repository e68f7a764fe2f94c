"""Avro contracts of sequence-qbo: one `.avsc` per event, a loader and the serde.

Money fields are decimal *strings* ("1234.5678"), not Avro's `decimal` logical type: a
fixed-scale bytes decimal would cap the scale of usage quantities and rates, and strings read
the same in every language. Readers parse them with `decimal.Decimal` and reject anything else.
"""

from schemas.loader import EVENTS, load_schema, released_versions

__all__ = ["EVENTS", "load_schema", "released_versions"]
