"""Product → QBO Item and tax category → QBO TaxCode mappings, one set per QBO company (realm).

What a sync reads is in `store.sync_context` (by realm); the lists here are the operator's view
of the account's live mappings (another company's are archived when the account moves).
"""

from __future__ import annotations

from store.db import Database, Row


def map_product(
    db: Database,
    *,
    account_id: str,
    product_id: str,
    realm_id: str,
    qbo_item_id: str,
    item_name: str,
    origin: str,
) -> Row | None:
    return db.one(
        "product_mapping_upsert",
        {
            "account_id": account_id,
            "product_id": product_id,
            "realm_id": realm_id,
            "qbo_item_id": qbo_item_id,
            "item_name": item_name,
            "origin": origin,
        },
    )


def product(db: Database, account_id: str, product_id: str, *, realm_id: str) -> Row | None:
    return db.one(
        "product_mapping_get",
        {"account_id": account_id, "realm_id": realm_id, "product_id": product_id},
    )


def products(db: Database, account_id: str) -> list[Row]:
    return db.all("product_mapping_list", {"account_id": account_id})


def map_tax(
    db: Database, *, account_id: str, tax_category_id: str, realm_id: str, qbo_tax_code_id: str
) -> Row | None:
    return db.one(
        "tax_mapping_upsert",
        {
            "account_id": account_id,
            "tax_category_id": tax_category_id,
            "realm_id": realm_id,
            "qbo_tax_code_id": qbo_tax_code_id,
        },
    )


def unmap_tax(db: Database, account_id: str, tax_category_id: str) -> bool:
    params = {"account_id": account_id, "tax_category_id": tax_category_id}
    return db.execute("tax_mapping_delete", params) > 0


def tax(db: Database, account_id: str) -> dict[str, str]:
    """Tax category id → QBO tax code id, the account's live mappings (the operator's view; a
    sync reads its realm's through `store.sync_context.tax_mappings`)."""
    rows = db.all("tax_mapping_list", {"account_id": account_id})
    return {row["tax_category_id"]: row["qbo_tax_code_id"] for row in rows}
