"""Sample Sequence events for the demo and for trying the service by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

DEMO_ACCOUNT = "acct_demo"

_CUSTOMERS = [
    (
        "cus_001",
        "Acme Widgets Ltd",
        "ap@acme.example",
        "1 Main St",
        "Leeds",
        "LS1 1AA",
        "GB",
        "TAXED",
    ),
    (
        "cus_002",
        'O\'Brien & Sons "UK"',
        "accounts@obrien.example",
        "22 Harbour Rd",
        "Cork",
        "T12 X123",
        "IE",
        "REVERSE_CHARGED",
    ),
    (
        "cus_003",
        "Müller Gmbh: Zürich",
        "buchhaltung@mueller.example",
        "Bahnhofstr. 5",
        "Zürich",
        "8001",
        "CH",
        "TAX_EXEMPT",
    ),
    (
        "cus_004",
        "東京商事株式会社",
        "keiri@tokyo-shoji.example",
        "1-1 Marunouchi",
        "Tokyo",
        "100-0005",
        "JP",
        "TAXED",
    ),
]


def customer(
    cid: str,
    name: str,
    email: str,
    line1: str,
    town: str,
    postcode: str,
    country: str,
    tax_status: str,
) -> dict[str, Any]:
    return {
        "id": cid,
        "legal_name": name,
        "email": email,
        "billing_emails": [],
        "address": {
            "line1": line1,
            "line2": None,
            "town": town,
            "state": None,
            "postcode": postcode,
            "country": country,
        },
        "tax_status": tax_status,
        "tax_id": None,
        "archived": False,
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


def line(
    lid: str,
    title: str,
    quantity: str,
    rate: str,
    amount: str,
    *,
    product_id: str | None = None,
    tax_category_id: str | None = None,
    tax_rate: str | None = None,
    tax_amount: str | None = None,
) -> dict[str, Any]:
    return {
        "id": lid,
        "title": title,
        "description": None,
        "product_id": product_id,
        "quantity": quantity,
        "rate": rate,
        "amount": amount,
        "tax_category_id": tax_category_id,
        "tax_rate": tax_rate,
        "tax_amount": tax_amount,
    }


def invoice(
    iid: str,
    cust: dict[str, Any],
    groups: list[dict[str, Any]],
    *,
    number: str | None = None,
    currency: str = "GBP",
    status: str = "FINAL",
    net: str,
    tax: str = "0",
    gross: str | None = None,
    invoice_date: dt.date = dt.date(2026, 11, 1),
    memo: str | None = None,
    stripe_payment_link: bool = False,
) -> dict[str, Any]:
    """An invoice snapshot; `groups` are {"id", "title", "tax_category_id", "line_items"}."""
    return {
        "id": iid,
        "number": number,
        "status": status,
        "payment_status": "UNPAID",
        "currency": currency,
        "invoice_date": invoice_date,
        "due_date": invoice_date + dt.timedelta(days=30),
        "accounting_date": None,
        "memo": memo,
        "purchase_order_number": None,
        "customer_id": cust["id"],
        "customer": cust,
        "line_item_groups": groups,
        "net_total": net,
        "total_tax": tax,
        "gross_total": gross if gross is not None else net,
        "stripe_payment_link": stripe_payment_link,
    }


def group(
    gid: str, title: str, lines: list[dict[str, Any]], tax_category_id: str | None = None
) -> dict[str, Any]:
    return {"id": gid, "title": title, "tax_category_id": tax_category_id, "line_items": lines}


def numbered_customer_event(
    account_id: str, i: int, occurred_at: dt.datetime | None = None
) -> dict[str, Any]:
    """A `customer.updated` value for customer `cus_{i}`, for bulk tests and benchmarks."""
    cust = customer(
        f"cus_{i}", f"Customer {i}", f"c{i}@x.example", "1 St", "Leeds", "LS1 1AA", "GB", "TAXED"
    )
    return {**envelope(account_id, occurred_at), "customer": cust}
