"""Tax codes (docs/qbo-mapping.md#tax-codes): the realm's codes, and tax category → code
mappings."""

from __future__ import annotations

from typing import Any

from qbo.client import QboClient
from qbo.query import Query
from store import mappings
from store.db import Database, Row
from sync import _qbo
from sync.errors import Invalid, NotFound

__all__ = ["check_tax_code", "map_tax_category", "tax_codes", "tax_mappings", "unmap_tax_category"]


def tax_codes(client: QboClient) -> list[dict[str, Any]]:
    """The realm's active tax codes (in US realms including the TAX / NON pseudo-codes)."""
    with _qbo.translated("list tax codes"):
        rows = list(client.query(Query("TaxCode").order_by("Name")))
    return [
        {
            "id": c["Id"],
            "name": c.get("Name"),
            "description": c.get("Description"),
            "taxable": c.get("Taxable"),
            "group": c.get("TaxGroup"),
            "active": c.get("Active", True),
        }
        for c in rows
    ]


def check_tax_code(client: QboClient, tax_code_id: str, what: str = "tax code") -> None:
    """Refuses an id that is not an active tax code of this realm."""
    known = {code["id"]: code for code in tax_codes(client)}
    if tax_code_id not in known:
        raise Invalid(
            "tax_code_not_found",
            f"{what} {tax_code_id!r} is not an active tax code "
            f"of QBO company {client.realm_id} (known: {', '.join(sorted(known))})",
            tax_code_id=tax_code_id,
            known=sorted(known),
        )


def map_tax_category(
    db: Database, client: QboClient, account_id: str, tax_category_id: str, tax_code_id: str
) -> Row:
    check_tax_code(client, tax_code_id)
    row = mappings.map_tax(
        db,
        account_id=account_id,
        tax_category_id=tax_category_id,
        realm_id=client.realm_id,
        qbo_tax_code_id=tax_code_id,
    )
    assert row is not None  # an upsert with `returning` always returns its row
    return row


def unmap_tax_category(db: Database, account_id: str, tax_category_id: str) -> None:
    if not mappings.unmap_tax(db, account_id, tax_category_id):
        raise NotFound(
            "tax_mapping_not_found",
            f"tax category {tax_category_id} is not mapped",
            tax_category_id=tax_category_id,
        )


def tax_mappings(db: Database, account_id: str) -> dict[str, str]:
    return mappings.tax(db, account_id)
