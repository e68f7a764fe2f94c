"""Per-account settings (docs/qbo-mapping.md#settings-that-change-the-mapping), validated before
they are stored: a QBO id must exist in the account's realm, so a typo is refused now rather than
failing every invoice later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from qbo.client import QboClient
from store import account_settings
from store.account_settings import NAMES, AccountSettings
from store.db import Database
from sync import _qbo
from sync.errors import Invalid
from sync.tax import check_tax_code

__all__ = ["NAMES", "get_settings", "update_settings"]

_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
TXN_DATE_SOURCES = ("invoice_date", "accounting_date")
_TAX_CODES = ("fallback_tax_code_id", "exempt_tax_code_id", "reverse_charge_tax_code_id")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def get_settings(db: Database, account_id: str) -> AccountSettings:
    return account_settings.get(db, account_id)


def update_settings(
    db: Database, client: Callable[[], QboClient], account_id: str, changes: Mapping[str, Any]
) -> AccountSettings:
    """Merges `changes` (name → value; None or "" clears an optional one) into the settings.
    `client()` is asked for only when a change names a QBO object (to check it exists)."""
    clean = {name: _value(name, value) for name, value in changes.items()}
    for name, value in clean.items():
        if value is not None and name in _QBO_CHECKS:
            _QBO_CHECKS[name](client(), str(value), name)
    current = account_settings.get(db, account_id)
    return account_settings.save(db, current.with_changes(clean))


def _value(name: str, value: Any) -> Any:
    if name not in NAMES:
        raise Invalid(
            "unknown_setting",
            f"there is no setting {name!r} (settings: {', '.join(NAMES)})",
            setting=name,
        )
    text = None if value is None else str(value).strip()
    if name == "auto_create_customers":
        return _boolean(name, value)
    if name == "txn_date_source":
        return _choice(name, text, TXN_DATE_SOURCES)
    if name == "merchant_email" and text and not _EMAIL.match(text):
        raise Invalid(
            "invalid_setting", f"merchant_email {text!r} is not an email address", setting=name
        )
    return text or None


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise Invalid("invalid_setting", f"{name} is true or false, not {value!r}", setting=name)


def _choice(name: str, text: str | None, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise Invalid(
            "invalid_setting", f"{name} is one of {', '.join(allowed)}, not {text!r}", setting=name
        )
    return text


def _check_item(client: QboClient, item_id: str, name: str) -> None:
    item = _qbo.get(client, "Item", item_id, "qbo_item_not_found")
    if item.get("Active") is False:
        raise Invalid("qbo_item_inactive", f"{name}: QBO item {item_id} is inactive", setting=name)


_QBO_CHECKS: dict[str, Callable[[QboClient, str, str], None]] = {
    "fallback_item_id": _check_item,
    **{name: check_tax_code for name in _TAX_CODES},
}
