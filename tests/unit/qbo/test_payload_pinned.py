"""The pure path (Avro bytes → decode → validate → build) pins its payload bytes and hash.

The ledger compares `payload_hash` across releases to tell "already sent" from "changed", so
an optimisation of decode, validation or building must leave the payload byte-identical. The
pinned values were taken before the P5 performance work (bench/month_end.py) and must not move.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from consumers._validation import parse
from qbo import _json
from qbo import invoice as builder
from qbo.invoice import BuildContext, Company, SyncSettings
from qbo.tax import TaxSettings
from schemas.models import InvoiceEvent, TaxStatus
from schemas.serde import LocalResolver, Serde
from sequence_qbo import samples


def _event() -> dict[str, Any]:
    customer = samples.customer(
        "cus_7", "Acme Ltd", "ap@acme.example", "1 Main St", "Leeds", "LS1 1AA", "GB", "TAXED"
    )
    lines = [
        samples.line("l1", "Seats", "3", "33.333", "100.00", product_id="prod_seats"),
        samples.line("l2", "API calls", "12500", "0.0012", "15.00", tax_category_id="cat_zero"),
        samples.line("l3", "Setup", "1", "49.99", "49.99", product_id="prod_other"),
        samples.line("l4", "Odd", "7", "0.123456", "0.86"),
        samples.line("l5", "Credit", "-1", "10", "-10.00", tax_rate="0.2", tax_amount="-2.00"),
    ]
    invoice = samples.invoice(
        "inv_pinned",
        customer,
        [
            samples.group("g1", "November", lines[:3], tax_category_id="cat_std"),
            samples.group("g2", "", lines[3:]),
        ],
        number="INV-0042",
        net="155.85",
        tax="31.17",
        gross="187.02",
        memo="Thanks — €, ü, 東京",
        invoice_date=dt.date(2026, 11, 1),
    )
    return {
        "event_id": uuid.UUID("0b4b5a4e-8d0f-4c1e-9a1e-1d2c3b4a5f60"),
        "occurred_at": dt.datetime(2026, 11, 30, 8, 0, 0, 123000, tzinfo=dt.UTC),
        "account_id": "acct_pinned",
        "invoice": invoice,
    }


UK = BuildContext(
    qbo_customer_id="58",
    company=Company(country="GB", home_currency="GBP"),
    item_mappings={"prod_seats": "5"},
    fallback_item_id="1",
    tax_mappings={"cat_std": "2", "cat_zero": "4"},
    settings=SyncSettings(merchant_email="billing@merchant.example", tax=TaxSettings(fallback="3")),
)
US = BuildContext(
    qbo_customer_id="58",
    company=Company(country="US", home_currency="USD", multi_currency_enabled=True),
    item_mappings={"prod_seats": "5"},
    fallback_item_id="1",
    tax_mappings={"cat_std": "7", "cat_zero": "NON"},
    settings=SyncSettings(tax=TaxSettings(fallback="7")),
    exchange_rate=Decimal("1.2712"),
)

PINNED = {
    "uk": "07438b0411f9a4e0c663dc1dc8c3314038933080bdbbce063820fe0680bc44b7",
    "us": "03cec3a2e67770221f9bbfc5a654d2141ea89351dd20c19dd21465882f0a052e",
}


@pytest.mark.parametrize("name, ctx", [("uk", UK), ("us", US)])
def test_payload_from_avro_bytes_is_pinned(name: str, ctx: BuildContext) -> None:
    serde = Serde(LocalResolver())
    raw = serde.encode("invoice.finalized", "sequence.invoice.finalized", _event())
    for _ in range(2):  # the second pass goes through every per-process cache
        parsed = parse(InvoiceEvent, serde.decode("invoice.finalized", raw))
        assert isinstance(parsed, InvoiceEvent)
        payload = builder.build_invoice(parsed.invoice, ctx)
        assert builder.payload_hash(payload) == PINNED[name], _json.dumps(payload)


def test_payload_text_is_pinned() -> None:
    serde = Serde(LocalResolver())
    raw = serde.encode("invoice.finalized", "sequence.invoice.finalized", _event())
    parsed = parse(InvoiceEvent, serde.decode("invoice.finalized", raw))
    assert isinstance(parsed, InvoiceEvent)
    assert _json.dumps(builder.build_invoice(parsed.invoice, UK)) == PINNED_TEXT


PINNED_TEXT = (
    '{"CustomerRef":{"value":"58"},"BillEmail":{"Address":"ap@acme.example"},"BillAddr":{"Lin'
    'e1":"1 Main St","City":"Leeds","PostalCode":"LS1 1AA","Country":"GB"},"TxnDate":"2026-11'
    '-01","DueDate":"2026-12-01","DocNumber":"INV-0042","CustomerMemo":{"value":"Thanks — €, '
    'ü, 東京"},"Line":[{"DetailType":"SalesItemLineDetail","Amount":100.00,"Description":"Novem'
    'ber: Seats","SalesItemLineDetail":{"ItemRef":{"value":"5"},"Qty":3,"UnitPrice":33.333,"T'
    'axCodeRef":{"value":"2"}}},{"DetailType":"SalesItemLineDetail","Amount":15.00,"Descripti'
    'on":"November: API calls","SalesItemLineDetail":{"ItemRef":{"value":"1"},"Qty":12500,"Un'
    'itPrice":0.0012,"TaxCodeRef":{"value":"4"}}},{"DetailType":"SalesItemLineDetail","Amount'
    '":49.99,"Description":"November: Setup","SalesItemLineDetail":{"ItemRef":{"value":"1"},"'
    'Qty":1,"UnitPrice":49.99,"TaxCodeRef":{"value":"2"}}},{"DetailType":"SalesItemLineDetail'
    '","Amount":0.86,"Description":"Odd (7 @ 0.123456)","SalesItemLineDetail":{"ItemRef":{"va'
    'lue":"1"},"Qty":7,"UnitPrice":0.12286,"TaxCodeRef":{"value":"3"}}},{"DetailType":"SalesI'
    'temLineDetail","Amount":-10.00,"Description":"Credit","SalesItemLineDetail":{"ItemRef":{'
    '"value":"1"},"Qty":-1,"UnitPrice":10,"TaxCodeRef":{"value":"3"}}}],"CurrencyRef":{"value'
    '":"GBP"},"GlobalTaxCalculation":"TaxExcluded","PrivateNote":"sequence:invoice:inv_pinned'
    '"}'
)


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"b": [1, True, None, 'é\u2028"\\'], "a": {"z": Decimal("1.50"), "y": Decimal("-0.00")}},
        {"x": (Decimal("1E+3"), Decimal("0.000100"), -7, False)},
        [{"k": ""}, {"": {}}, Decimal("123456789012345678.123456789012345678")],
        {1: "int key"},
        {"m": MappingProxyType({"b": 1, "a": 2})},
        {"e": TaxStatus.TAXED},
        {"d": dt.date(2026, 1, 1)},
        {"f": 1.5},
        {"n": Decimal("NaN")},
    ],
)
def test_payload_hash_writes_what_the_reference_encoder_writes(value: Any) -> None:
    """payload_hash's one-pass encoder against `_json.dumps(canonical=True)`, the definition:
    the same text, or the same refusal."""
    try:
        expected = _json.dumps(value, canonical=True)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            builder.payload_hash(value)
        return
    assert builder._canonical(value) == expected
    assert builder.payload_hash(value) == hashlib.sha256(expected.encode()).hexdigest()
