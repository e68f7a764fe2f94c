"""Schema evolution: every current schema reads data written with every released version
(BACKWARD, docs/events.md#evolution), checked with generated records rather than by eye.

Readers downstream (of invoice.paid, qbo.sync_status, ...) keep old schemas for a while, so the
other direction is checked too: a released reader must read current data. That is what fails when
someone removes a field that has no default.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import fastavro
import pytest
from fastavro.utils import generate_many

from schemas import loader

SAMPLES = 25


def incompatibilities(writer: dict[str, Any], reader: dict[str, Any]) -> list[str]:
    """Errors met reading generated `writer` records with `reader` (empty when compatible)."""
    w = fastavro.parse_schema(copy.deepcopy(writer), named_schemas={})
    r = fastavro.parse_schema(copy.deepcopy(reader), named_schemas={})
    errors = []
    for record in generate_many(w, SAMPLES):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, w, record)
        buf.seek(0)
        try:
            fastavro.schemaless_reader(buf, w, r)
        except Exception as exc:  # fastavro's resolution errors have no common base
            errors.append(f"{type(exc).__name__}: {exc}")
    return errors


RELEASED = [
    (version, event)
    for version in loader.released_versions()
    for event in loader.EVENTS
    if (loader._RELEASED / version / f"{event}.avsc").exists()
]


def test_every_event_has_a_released_version() -> None:
    released = {event for _, event in RELEASED}
    assert released == set(loader.EVENTS), "release the new schema: copy it to schemas/released/"


@pytest.mark.parametrize(("version", "event"), RELEASED)
def test_current_reads_released(version: str, event: str) -> None:
    assert incompatibilities(loader.load_schema(event, version), loader.load_schema(event)) == []


@pytest.mark.parametrize(("version", "event"), RELEASED)
def test_released_reads_current(version: str, event: str) -> None:
    assert incompatibilities(loader.load_schema(event), loader.load_schema(event, version)) == []


def _without_field(schema: dict[str, Any], name: str) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    changed["fields"] = [f for f in changed["fields"] if f["name"] != name]
    return changed


def test_check_fails_when_a_field_without_default_is_removed() -> None:
    released = loader.load_schema("invoice.paid", "v1")
    current = _without_field(released, "amount_paid")
    assert incompatibilities(current, released), "an old reader cannot do without amount_paid"


def test_check_fails_when_a_field_without_default_is_added() -> None:
    released = loader.load_schema("invoice.paid", "v1")
    current = copy.deepcopy(released)
    current["fields"].append({"name": "fee", "type": "string"})
    assert incompatibilities(released, current), "a new reader needs a default for fee"


def test_adding_a_field_with_a_default_is_compatible_both_ways() -> None:
    released = loader.load_schema("invoice.paid", "v1")
    current = copy.deepcopy(released)
    current["fields"].append({"name": "fee", "type": ["null", "string"], "default": None})
    assert incompatibilities(released, current) == []
    assert incompatibilities(current, released) == []


def test_every_field_is_documented() -> None:
    def walk(schema: Any, path: str) -> list[str]:
        missing = []
        if isinstance(schema, dict) and schema.get("type") == "record":
            for f in schema["fields"]:
                if not f.get("doc"):
                    missing.append(f"{path}.{f['name']}")
                missing += walk(f["type"], f"{path}.{f['name']}")
        elif isinstance(schema, dict) and schema.get("type") == "array":
            missing += walk(schema["items"], path + "[]")
        elif isinstance(schema, list):
            for branch in schema:
                missing += walk(branch, path)
        return missing

    undocumented = [m for e in loader.EVENTS for m in walk(loader.load_schema(e), e)]
    assert undocumented == []


# -- invoice.payment_status_changed ---------------------------------------------------------------

PAYMENT_STATE = "invoice.payment_status_changed"


def test_the_payment_state_contract_is_released_and_checked_both_ways() -> None:
    assert ("v1", PAYMENT_STATE) in RELEASED
    assert loader.load_schema(PAYMENT_STATE) == loader.load_schema(PAYMENT_STATE, "v1")


@pytest.mark.parametrize("field", ["version", "event_id", "status", "amount_paid", "payments"])
def test_a_payment_state_reader_cannot_do_without_its_required_fields(field: str) -> None:
    released = loader.load_schema(PAYMENT_STATE, "v1")
    assert incompatibilities(_without_field(released, field), released)


def test_a_new_payment_status_symbol_breaks_released_readers() -> None:
    # An enum without a default cannot take a symbol it does not know: a new status (say
    # UNCOLLECTIBLE) needs a new event or an enum default first.
    released = loader.load_schema(PAYMENT_STATE, "v1")
    current = copy.deepcopy(released)
    status = next(f for f in current["fields"] if f["name"] == "status")
    status["type"]["symbols"] = ["UNCOLLECTIBLE"]
    assert incompatibilities(current, released)


def test_a_payment_txn_date_may_be_dropped_by_a_later_reader() -> None:
    released = loader.load_schema(PAYMENT_STATE, "v1")
    current = copy.deepcopy(released)
    item = next(f for f in current["fields"] if f["name"] == "payments")["type"]["items"]
    item["fields"] = [f for f in item["fields"] if f["name"] != "txn_date"]
    assert incompatibilities(released, current) == []  # current reads old data
    assert incompatibilities(current, released) == []  # old readers default it to null
