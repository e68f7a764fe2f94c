"""Reads what a document sync needs to know about an account (links, settings, mappings).

Links and mappings name QBO objects, so they are read for `realm_id`, the realm of the client
the sync writes with: an id of another QBO company is never put into a payload.
"""

from __future__ import annotations

from collections.abc import Iterable

from store.db import Row, Statement, Tx


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


def for_document(
    account_id: str,
    document_type: str,
    sequence_id: str,
    *,
    realm_id: str,
    customer_id: str,
    product_ids: Iterable[str],
    category_ids: Iterable[str],
) -> Statement:
    """Everything above for one document, and whether a create intent exists for it, as one
    statement (to send with the claim: `Database.pipeline`). Its one row: `link` (as `link`
    returns it) and `settings` (None when there are none), `item_mappings` and `tax_mappings`
    (as above), `intent` (bool)."""
    return (
        "context_for_document",
        {
            "account_id": account_id,
            "document_type": document_type,
            "sequence_id": sequence_id,
            "realm_id": realm_id,
            "customer_id": customer_id,
            "product_ids": sorted(set(product_ids)),
            "category_ids": sorted(set(category_ids)),
        },
    )
