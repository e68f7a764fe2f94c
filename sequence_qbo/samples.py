"""Sample Sequence events for the demo and for trying the service by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

DEMO_ACCOUNT = "acct_demo"

_CUSTOMERS = [
    ("cus_001", "Acme Widgets Ltd", "ap@acme.example", "1 Main St", "Leeds", "LS1 1AA", "GB",
     "TAXED"),
    ("cus_002", "O'Brien & Sons \"UK\"", "accounts@obrien.example", "22 Harbour Rd", "Cork",
     "T12 X123", "IE", "REVERSE_CHARGED"),
    ("cus_003", "Müller Gmbh: Zürich", "buchhaltung@mueller.example", "Bahnhofstr. 5", "Zürich",
     "8001", "CH", "TAX_EXEMPT"),
    ("cus_004", "東京商事株式会社", "keiri@tokyo-shoji.example", "1-1 Marunouchi", "Tokyo",
     "100-0005", "JP", "TAXED"),
]


def customer(cid: str, name: str, email: str, line1: str, town: str, postcode: str,
             country: str, tax_status: str) -> dict[str, Any]:
    return {
        "id": cid, "legal_name": name, "email": email, "billing_emails": [],
        "address": {"line1": line1, "line2": None, "town": town, "state": None,
                    "postcode": postcode, "country": country},
        "tax_status": tax_status, "tax_id": None, "archived": False,
    }


def envelope(account_id: str, occurred_at: dt.datetime | None = None) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": occurred_at or dt.datetime.now(dt.UTC),
        "account_id": account_id,
    }


def customer_updated_events(account_id: str = DEMO_ACCOUNT) -> list[tuple[str, dict[str, Any]]]:
    """(key, value) pairs for `customer.updated`."""
    return [(c[0], {**envelope(account_id), "customer": customer(*c)}) for c in _CUSTOMERS]
