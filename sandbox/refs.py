"""Reference handling: `{"value": "...", "name": "..."}` in, active objects out, or 610."""

from __future__ import annotations

from typing import Any

from sandbox import faults
from sandbox.realm import Realm

# Fields whose `name` QBO fills in on every response.
NAME_FIELD = {"Customer": "DisplayName", "Item": "Name", "Account": "Name", "TaxCode": "Name"}


def value(obj: dict[str, Any], key: str) -> str | None:
    ref = obj.get(key)
    if isinstance(ref, dict) and ref.get("value") not in (None, ""):
        return str(ref["value"])
    if isinstance(ref, str | int) and ref != "":
        return str(ref)
    return None


def resolve(realm: Realm, entity: str, ident: str | None, element: str) -> dict[str, Any]:
    """The referenced object; unknown or inactive -> 610 Object Not Found (QBO's wording)."""
    found = realm.get(entity, ident) if ident is not None else None
    if found is None or found.get("Active") is False:
        raise faults.not_found(entity, f"Id={ident}", element)
    return found


def named(entity: str, obj: dict[str, Any]) -> dict[str, str]:
    return {"value": obj["Id"], "name": str(obj.get(NAME_FIELD.get(entity, "Name"), ""))}


def required(realm: Realm, data: dict[str, Any], key: str, entity: str) -> dict[str, Any]:
    ident = value(data, key)
    if ident is None:
        raise faults.required(key)
    return resolve(realm, entity, ident, key)


def optional(realm: Realm, data: dict[str, Any], key: str, entity: str) -> dict[str, Any] | None:
    ident = value(data, key)
    return None if ident is None else resolve(realm, entity, ident, key)
