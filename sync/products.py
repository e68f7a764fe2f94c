"""Products → QBO items (docs/qbo-mapping.md#products-and-items): income accounts, creating or
linking an item, and the fallback item for products without a mapping."""

from __future__ import annotations

from typing import Any

from qbo import requestids
from qbo.client import QboClient
from qbo.query import Query
from store import account_settings, mappings
from store.db import Database, Row
from sync import _duplicates, _qbo
from sync.errors import Conflict, Invalid

__all__ = [
    "create_fallback_item",
    "income_accounts",
    "link_product",
    "map_product",
    "product_mappings",
]

ITEM_NAME_MAX = 100  # QBO Item.Name (docs/qbo-behaviours.md#entities-and-field-limits)
INCOME_TYPES = ("Income", "Other Income")
FALLBACK = "__fallback_item__"  # stands for the product id when creating the fallback item


def income_accounts(client: QboClient) -> list[dict[str, Any]]:
    """The realm's active income accounts: what a new item's IncomeAccountRef may point at."""
    query = Query("Account").where("AccountType", "IN", list(INCOME_TYPES)).order_by("Name")
    with _qbo.translated("list income accounts"):
        rows = list(client.query(query))
    return [
        {
            "id": a["Id"],
            "name": a.get("Name"),
            "number": a.get("AcctNum"),
            "type": a.get("AccountType"),
            "sub_type": a.get("AccountSubType"),
        }
        for a in rows
    ]


def map_product(
    db: Database,
    client: QboClient,
    account_id: str,
    product_id: str,
    product_name: str,
    income_account_id: str,
) -> Row:
    """Creates a Service item named after the product and maps the product to it. A name
    another item holds is refused with that item (`item_name_taken`): link it instead."""
    item = create_service_item(client, account_id, product_id, product_name, income_account_id)
    return _store(db, client, account_id, product_id, item, "created")


def link_product(
    db: Database, client: QboClient, account_id: str, product_id: str, item_id: str
) -> Row:
    """Maps the product to an existing QBO item."""
    item = _qbo.get(client, "Item", item_id, "qbo_item_not_found")
    if item.get("Active") is False:
        raise Invalid(
            "qbo_item_inactive",
            f"QBO item {item_id} ({item.get('Name')}) is inactive; reactivate it in QBO first",
            item_id=item_id,
        )
    return _store(db, client, account_id, product_id, item, "linked")


def create_fallback_item(
    db: Database, client: QboClient, account_id: str, name: str, income_account_id: str
) -> dict[str, Any]:
    """Creates the item unmapped products use, and makes it the account's fallback item."""
    item = create_service_item(client, account_id, FALLBACK, name, income_account_id)
    current = account_settings.get(db, account_id)
    account_settings.save(db, current.with_changes({"fallback_item_id": item["Id"]}))
    return _qbo.summary(item)


def product_mappings(db: Database, account_id: str) -> list[Row]:
    return mappings.products(db, account_id)


def create_service_item(
    client: QboClient, account_id: str, product_id: str, name: str, income_account_id: str
) -> dict[str, Any]:
    """A Service item; the requestid is per product, so a retry after a lost answer replays
    the create while another product asking for the same name meets the 6240."""
    item_name = _item_name(name)
    _income_account(client, income_account_id)
    payload = {
        "Name": item_name,
        "Type": "Service",
        "IncomeAccountRef": {"value": income_account_id},
    }
    request_id = requestids.make(
        "item-create", account_id, product_id, item_name, income_account_id
    )
    try:
        with _qbo.translated(f"create item {item_name!r}"):
            return client.create("Item", payload, request_id=request_id)
    except Conflict as exc:
        if exc.reason != "duplicate_name":
            raise
        raise _duplicates.item_name_taken(client, item_name) from exc


def _item_name(name: str) -> str:
    """QBO item names: at most 100 characters, and no colon (it separates sub-items in
    FullyQualifiedName, as for customers)."""
    cleaned = " ".join(name.replace(":", " - ").split())[:ITEM_NAME_MAX].strip()
    if not cleaned:
        raise Invalid("item_name_empty", f"product name {name!r} leaves no QBO item name")
    return cleaned


def _income_account(client: QboClient, account_id: str) -> dict[str, Any]:
    account = _qbo.get(client, "Account", account_id, "income_account_not_found")
    if account.get("AccountType") not in INCOME_TYPES:
        raise Invalid(
            "not_an_income_account",
            f"QBO account {account_id} "
            f"({account.get('Name')}) is a {account.get('AccountType')} account, "
            "not an income account",
            account_id=account_id,
        )
    return account


def _store(
    db: Database,
    client: QboClient,
    account_id: str,
    product_id: str,
    item: dict[str, Any],
    origin: str,
) -> Row:
    row = mappings.map_product(
        db,
        account_id=account_id,
        product_id=product_id,
        realm_id=client.realm_id,
        qbo_item_id=item["Id"],
        item_name=item.get("Name") or "",
        origin=origin,
    )
    assert row is not None  # an upsert with `returning` always returns its row
    return row
