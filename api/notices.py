"""Intuit webhook bodies → change notices. Pure: no I/O, no clock (`received_at` is passed in).

Two formats (docs/qbo-behaviours.md#webhooks), told apart by shape, not by Content-Type (Intuit
sends either `application/json` or `application/cloudevents+json` for both):
- legacy: `{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [...]}}]}`;
- CloudEvents: a JSON array of events (a lone event object is accepted too).

Parsing is lenient per item: a bad item is skipped with a reason, its siblings still count,
because Intuit re-sends a whole delivery on any non-2xx answer and a bad item never heals.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Notice", "Parsed", "parse"]


@dataclass(frozen=True)
class Notice:
    """One change of one QBO entity in one realm."""

    realm_id: str
    entity: str  # QBO's entity name, e.g. "Invoice"
    entity_id: str
    operation: str  # Create, Update, Delete, Merge, Void or Emailed
    last_updated: dt.datetime  # timezone-aware
    dedupe_key: str  # CloudEvents id; legacy: realm/entity/id/lastUpdated (ms)


@dataclass(frozen=True)
class Parsed:
    notices: tuple[Notice, ...]
    problems: tuple[str, ...]  # one reason per skipped item (or for the whole body)


class _Skip(Exception):
    """An item is unusable; the message says why."""


# CloudEvents `type` carries the entity in lower case (`qbo.salesreceipt.updated.v1`); the
# reconciler and the CDC poller speak QBO's own names, so restore them.
_ENTITIES = {
    name.lower(): name
    for name in (
        "Account",
        "Bill",
        "BillPayment",
        "Budget",
        "Class",
        "CompanyInfo",
        "CreditMemo",
        "Currency",
        "Customer",
        "Department",
        "Deposit",
        "Employee",
        "Estimate",
        "Invoice",
        "Item",
        "JournalCode",
        "JournalEntry",
        "Payment",
        "PaymentMethod",
        "Preferences",
        "Purchase",
        "PurchaseOrder",
        "RefundReceipt",
        "SalesReceipt",
        "TaxAgency",
        "TaxCode",
        "TaxRate",
        "Term",
        "TimeActivity",
        "Transfer",
        "Vendor",
        "VendorCredit",
    )
}
# CloudEvents verbs → the legacy operation names. Verbs for void/delete/emailed are
# UNCONFIRMED (docs/qbo-behaviours.md#webhooks); unknown verbs pass through capitalised.
_OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "merged": "Merge",
    "voided": "Void",
    "emailed": "Emailed",
}


def parse(body: bytes, received_at: dt.datetime) -> Parsed:
    """Every usable notice in `body`, and why anything else was skipped. Never raises."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return Parsed((), (f"body is not JSON: {type(exc).__name__}",))
    if isinstance(doc, dict) and "specversion" in doc:
        doc = [doc]  # one CloudEvent in structured mode
    if isinstance(doc, list):
        return _collect(_cloudevent(item, received_at) for item in doc)
    if isinstance(doc, dict) and isinstance(doc.get("eventNotifications"), list):
        return _collect(_legacy(doc["eventNotifications"]))
    return Parsed((), ("body is neither a CloudEvents array nor an eventNotifications object",))


def _collect(items: Iterable[Notice | str]) -> Parsed:
    notices: list[Notice] = []
    problems: list[str] = []
    for item in items:
        if isinstance(item, Notice):
            notices.append(item)
        else:
            problems.append(item)
    return Parsed(tuple(notices), tuple(problems))


def _cloudevent(event: object, received_at: dt.datetime) -> Notice | str:
    try:
        if not isinstance(event, dict):
            raise _Skip("a CloudEvent is not an object")
        entity, operation = _split_type(_text(event, "type"))
        time = event.get("time")
        return Notice(
            realm_id=_text(event, "intuitaccountid"),
            entity=entity,
            entity_id=_text(event, "intuitentityid"),
            operation=operation,
            # `time` is optional in CloudEvents; the receipt time is the best bound we have.
            last_updated=_timestamp(time, "time") if time is not None else received_at,
            dedupe_key=_text(event, "id"),
        )
    except _Skip as skip:
        return f"CloudEvent skipped: {skip}"


def _split_type(type_: str) -> tuple[str, str]:
    """`qbo.<entity>.<verb>.v1` → (entity, operation)."""
    parts = type_.split(".")
    if len(parts) < 3 or parts[0] != "qbo" or not parts[1] or not parts[2]:
        raise _Skip(f"type {type_[:80]!r} is not qbo.<entity>.<verb>.vN")
    entity = _ENTITIES.get(parts[1].lower(), parts[1][:1].upper() + parts[1][1:])
    operation = _OPERATIONS.get(parts[2].lower(), parts[2].capitalize())
    return entity, operation


def _legacy(notifications: list[Any]) -> Iterator[Notice | str]:
    for notification in notifications:
        try:
            realm_id = _text(notification, "realmId")
            change = notification.get("dataChangeEvent")
            entities = change.get("entities") if isinstance(change, dict) else None
            if not isinstance(entities, list):
                raise _Skip("dataChangeEvent.entities is not a list")
        except _Skip as skip:
            yield f"eventNotification skipped: {skip}"
            continue
        for entity in entities:
            yield _legacy_entity(realm_id, entity)


def _legacy_entity(realm_id: str, entity: object) -> Notice | str:
    try:
        name, id_ = _text(entity, "name"), _text(entity, "id")
        last_updated = _timestamp(_text(entity, "lastUpdated"), "lastUpdated")
        millis = int(last_updated.timestamp() * 1000)
        return Notice(
            realm_id=realm_id,
            entity=name,
            entity_id=id_,
            operation=_text(entity, "operation"),
            last_updated=last_updated,
            dedupe_key=f"{realm_id}/{name}/{id_}/{millis}",
        )
    except _Skip as skip:
        return f"entity of realm {realm_id} skipped: {skip}"


def _text(obj: object, key: str) -> str:
    """A non-empty string field (ids may come as JSON numbers)."""
    if not isinstance(obj, dict):
        raise _Skip(f"expected an object holding {key!r}")
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise _Skip(f"{key!r} is missing or not a string")
    return str(value)


def _timestamp(value: object, key: str) -> dt.datetime:
    """ISO-8601 as Intuit writes it (`…-0700`, `…Z`, nanoseconds); no zone means UTC."""
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise _Skip(f"{key!r} is not an ISO-8601 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
