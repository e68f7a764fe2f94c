"""Reads what a document sync needs to know about an account (links, settings, mappings).

Links and mappings name QBO objects, so they are read for `realm_id`, the realm of the client
the sync writes with: an id of another QBO company is never put into a payload.
"""

from __future__ import annotations

from collections.abc import Iterable

from store.db import Row, Tx


def link(tx: Tx, account_id: str, customer_id: str, *, realm_id: str) -> Row | None:
    return tx.one(
        "context_link",
        {"account_id": account_id, "realm_id": realm_id, "customer_id": customer_id},
    )


def settings(tx: Tx, account_id: str) -> Row | None:
    return tx.one("context_settings", {"account_id": account_id})


def item_mappings(
    tx: Tx, account_id: str, product_ids: Iterable[str], *, realm_id: str
) -> dict[str, str]:
    rows = tx.all(
        "context_item_mappings",
        {"account_id": account_id, "realm_id": realm_id, "product_ids": sorted(set(product_ids))},
    )
    return {r["product_id"]: r["qbo_item_id"] for r in rows}


def tax_mappings(
    tx: Tx, account_id: str, category_ids: Iterable[str], *, realm_id: str
) -> dict[str, str]:
    rows = tx.all(
        "context_tax_mappings",
        {"account_id": account_id, "realm_id": realm_id, "category_ids": sorted(set(category_ids))},
    )
    return {r["tax_category_id"]: r["qbo_tax_code_id"] for r in rows}
