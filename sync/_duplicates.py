"""QBO refused a name as taken (6240): find the record that holds it, so the error can offer it.

QBO keeps DisplayName unique across Customer, Vendor and Employee, and Item names among items,
inactive ones included (docs/qbo-behaviours.md#entities-and-field-limits); a plain query returns
active objects only, hence the `Active IN (true, false)` condition.
"""

from __future__ import annotations

from typing import Any

from qbo.client import QboClient
from qbo.query import Query
from sync import _qbo
from sync.errors import Conflict, ServiceError

_NAME_FIELD = {
    "Customer": "DisplayName",
    "Vendor": "DisplayName",
    "Employee": "DisplayName",
    "Item": "Name",
}


def holder(client: QboClient, entity: str, name: str) -> dict[str, Any] | None:
    """The object of `entity` named `name` (active or not), or None."""
    query = Query(entity).where(_NAME_FIELD[entity], "=", name).where("Active", "IN", [True, False])
    try:
        rows = _qbo.find(client, query, limit=1)
    except ServiceError:
        return None  # e.g. an entity this realm (or the emulator) does not serve
    return rows[0] if rows else None


def customer_name_taken(client: QboClient, name: str) -> Conflict:
    """The 6240 on a customer create, naming who holds the name and offering a link."""
    for entity in ("Customer", "Vendor", "Employee"):
        found = holder(client, entity, name)
        if found is None:
            continue
        offer = "link it instead" if entity == "Customer" else "rename one of them"
        return Conflict(
            "duplicate_name",
            f"QBO already has a {entity.lower()} named {name!r} (id {found['Id']}); {offer}",
            existing={"entity": entity, **_qbo.summary(found)},
        )
    return Conflict(
        "duplicate_name",
        f"QBO says the name {name!r} is taken by a customer, "
        "vendor or employee we cannot see; rename it in QBO or link it",
        existing=None,
    )


def item_name_taken(client: QboClient, name: str) -> Conflict:
    found = holder(client, "Item", name)
    details = {"entity": "Item", **_qbo.summary(found)} if found else None
    where = f" (id {found['Id']})" if found else ""
    return Conflict(
        "item_name_taken",
        f"QBO already has an item named {name!r}{where}; link that item instead",
        existing=details,
    )
