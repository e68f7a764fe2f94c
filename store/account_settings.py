"""Per-account settings (`account_settings`); an account without a row has the defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from store.db import Database, Row, Tx


@dataclass(frozen=True)
class AccountSettings:
    account_id: str
    merchant_email: str | None = None
    txn_date_source: str = "invoice_date"  # invoice_date | accounting_date
    fallback_item_id: str | None = None
    fallback_tax_code_id: str | None = None
    exempt_tax_code_id: str | None = None
    reverse_charge_tax_code_id: str | None = None
    auto_create_customers: bool = False

    @classmethod
    def from_row(cls, row: Row) -> AccountSettings:
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    def with_changes(self, changes: dict[str, Any]) -> AccountSettings:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


NAMES = tuple(f.name for f in fields(AccountSettings) if f.name != "account_id")


def get(db: Database | Tx, account_id: str) -> AccountSettings:
    row = db.one("account_settings_get", {"account_id": account_id})
    return AccountSettings(account_id) if row is None else AccountSettings.from_row(row)


def save(db: Database, settings: AccountSettings) -> AccountSettings:
    row = db.one("account_settings_upsert", settings.as_dict())
    assert row is not None  # an upsert with `returning` always returns its row
    return AccountSettings.from_row(row)
