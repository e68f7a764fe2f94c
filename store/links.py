"""Customer links: which QBO customer a Sequence customer is, in one QBO company (realm).

Every look-up names the realm of the client it serves (the connected client's `realm_id`): a
link made in another company (before the account moved, or by a sync still in flight while it
moved) is never returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.db import Database, Row, Tx

ORIGINS = ("link", "create", "import", "auto")
# A pool or an open transaction: the invoice sync links inside the transaction that holds the
# document's lock (auto-create), everything else uses the pool.
Queries = Database | Tx


@dataclass(frozen=True)
class Link:
    account_id: str
    customer_id: str
    realm_id: str
    qbo_customer_id: str
    qbo_sync_token: str | None
    currency: str | None
    synced_hash: str | None
    origin: str

    @classmethod
    def from_row(cls, row: Row) -> Link:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def get(db: Queries, account_id: str, customer_id: str, *, realm_id: str) -> Link | None:
    row = db.one(
        "link_get", {"account_id": account_id, "realm_id": realm_id, "customer_id": customer_id}
    )
    return None if row is None else Link.from_row(row)


def by_qbo_customer(
    db: Queries, account_id: str, realm_id: str, qbo_customer_id: str
) -> Link | None:
    row = db.one(
        "link_by_qbo_customer",
        {"account_id": account_id, "realm_id": realm_id, "qbo_customer_id": qbo_customer_id},
    )
    return None if row is None else Link.from_row(row)


def insert(db: Queries, link: Link) -> bool:
    """Stores the link; False when the customer or the QBO customer is already linked."""
    return db.one("link_insert", link.as_dict()) is not None


def mark_synced(
    db: Queries,
    account_id: str,
    customer_id: str,
    *,
    realm_id: str,
    sync_token: str,
    synced_hash: str,
) -> None:
    db.execute(
        "link_mark_synced",
        {
            "account_id": account_id,
            "realm_id": realm_id,
            "customer_id": customer_id,
            "qbo_sync_token": sync_token,
            "synced_hash": synced_hash,
        },
    )


def list_links(db: Database, account_id: str, limit: int = 1000) -> list[Row]:
    """The operator's view: the account's live links, each naming its realm."""
    return db.all("link_list", {"account_id": account_id, "limit": limit})


def linked_qbo_ids(db: Database, account_id: str, realm_id: str) -> set[str]:
    rows = db.all("linked_qbo_customer_ids", {"account_id": account_id, "realm_id": realm_id})
    return {row["qbo_customer_id"] for row in rows}


def record_import(db: Queries, **summary: Any) -> Row | None:
    return db.one("customer_import_record", summary)
