"""PhysicalAddress Ids: QBO gives every stored address its own Id.

Recorded objects from Intuit's sample company show it (customer 1's BillAddr Id 2 and ShipAddr
Id 109; invoice 239 of that customer carries the same two Ids), as do quickbooks-ruby's recorded
customers and company info.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.realm import Realm

PARTY = ("BillAddr", "ShipAddr")
COMPANY = ("CompanyAddr", "CustomerCommunicationAddr", "LegalAddr")


def _number(realm: Realm, sent: dict[str, Any], old: dict[str, Any] | None) -> str:
    if str(sent.get("Id", "")).isdigit():
        return str(sent["Id"])
    # An update that resends the address without its Id edits the same address record.
    if old is not None and str(old.get("Id", "")).isdigit():
        return str(old["Id"])
    return realm.allocate_id("PhysicalAddress")


def assign(
    realm: Realm, obj: dict[str, Any], old: dict[str, Any] | None, keys: tuple[str, ...] = PARTY
) -> None:
    """Give each address in `obj` an Id: the one sent, the old version's, or a new one."""
    for key in keys:
        sent = obj.get(key)
        if isinstance(sent, dict) and sent:
            before = (old or {}).get(key)
            address = dict(sent)
            address["Id"] = _number(realm, sent, before if isinstance(before, dict) else None)
            obj[key] = address


def from_customer(
    realm: Realm, obj: dict[str, Any], customer: dict[str, Any], old: dict[str, Any] | None
) -> None:
    """Sales documents: an address left out is the customer's, Id included (as recorded)."""
    for key in PARTY:
        if not obj.get(key) and isinstance(customer.get(key), dict):
            obj[key] = copy.deepcopy(customer[key])
    assign(realm, obj, old)
