"""Invoice / credit note snapshot → QBO JSON, row by row of
docs/qbo-mapping.md#invoices-and-credit-notes (and its tax and currency rules)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from qbo import _json
from qbo import invoice as builder
from qbo.amounts import qbo_line_amount
from qbo.invoice import BuildContext, BuildFailure, Company, Reason, SyncSettings
from qbo.tax import TaxSettings
from schemas.models import (
    Address,
    CreditNote,
    Customer,
    DocumentStatus,
    Invoice,
    LineItem,
    LineItemGroup,
    PaymentStatus,
    TaxStatus,
)

D = Decimal
ADDRESS = Address(
    line1="1 Main St", line2="Suite 4", town="Leeds", state="WYK", postcode="LS1 1AA", country="GB"
)
CUSTOMER = Customer(
    id="cus_1",
    legal_name="Acme Ltd",
    email="ap@acme.example",
    address=ADDRESS,
    tax_status=TaxStatus.TAXED,
)
UK = Company(country="GB", home_currency="GBP", custom_txn_numbers=True)
US = Company(country="US", home_currency="USD", custom_txn_numbers=True, default_tax_code="7")
CTX = BuildContext(
    qbo_customer_id="58",
    company=UK,
    qbo_customer_currency="GBP",
    item_mappings={"prod_seats": "5", "prod_api": "6"},
    fallback_item_id=None,
    tax_mappings={"cat_std": "2", "cat_zero": "4"},
    settings=SyncSettings(
        merchant_email="billing@merchant.example",
        tax=TaxSettings(fallback="2", exempt="9", reverse_charge="12"),
    ),
)


def item(
    n: int = 1,
    *,
    product: str | None = "prod_seats",
    qty: str = "3",
    rate: str = "10.00",
    amount: str = "30.00",
    title: str = "Seats",
    category: str | None = None,
) -> LineItem:
    return LineItem(
        id=f"li_{n}",
        title=title,
        product_id=product,
        quantity=D(qty),
        rate=D(rate),
        amount=D(amount),
        tax_category_id=category,
    )


def group(*items: LineItem, title: str = "Platform", category: str | None = None) -> LineItemGroup:
    return LineItemGroup(id="grp_1", title=title, tax_category_id=category, line_items=items)


def _doc_fields(groups: tuple[LineItemGroup, ...], tax: str, **over: Any) -> dict[str, Any]:
    net = sum((li.amount for g in groups for li in g.line_items), D(0))
    fields: dict[str, Any] = dict(
        id="inv_1",
        number="INV-1001",
        status=DocumentStatus.FINAL,
        payment_status=PaymentStatus.UNPAID,
        currency="GBP",
        due_date=dt.date(2025, 12, 1),
        accounting_date=dt.date(2025, 10, 31),
        memo="Thanks!",
        customer_id="cus_1",
        customer=CUSTOMER,
        line_item_groups=groups,
        net_total=net,
        total_tax=D(tax),
        gross_total=net + D(tax),
    )
    return {**fields, **over}


def invoice(*groups: LineItemGroup, tax: str = "0", **over: Any) -> Invoice:
    groups = groups or (group(item()),)
    return Invoice(invoice_date=dt.date(2025, 11, 1), **_doc_fields(groups, tax, **over))


def credit_note(*groups: LineItemGroup, **over: Any) -> CreditNote:
    groups = groups or (group(item()),)
    fields = _doc_fields(groups, "0", **{"id": "cn_1", "number": "CN-7", **over})
    return CreditNote(issue_date=dt.date(2025, 11, 20), invoice_id="inv_1", **fields)


def ctx(**over: Any) -> BuildContext:
    return replace(CTX, **over)


def settings(**over: Any) -> SyncSettings:
    return replace(CTX.settings, **over)


def failure(build: Any, *args: Any) -> BuildFailure:
    with pytest.raises(BuildFailure) as caught:
        build(*args)
    return caught.value


# ---- the whole payload, once ----------------------------------------------------------------


def test_uk_invoice_payload_exactly() -> None:
    assert builder.build_invoice(invoice(), CTX) == {
        "CustomerRef": {"value": "58"},
        "BillEmail": {"Address": "ap@acme.example"},
        "BillAddr": {
            "Line1": "1 Main St",
            "Line2": "Suite 4",
            "City": "Leeds",
            "CountrySubDivisionCode": "WYK",
            "PostalCode": "LS1 1AA",
            "Country": "GB",
        },
        "TxnDate": "2025-11-01",
        "DueDate": "2025-12-01",
        "DocNumber": "INV-1001",
        "CustomerMemo": {"value": "Thanks!"},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": D("30.00"),
                "Description": "Platform: Seats",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "5"},
                    "Qty": D(3),
                    "UnitPrice": D("10.00"),
                    "TaxCodeRef": {"value": "2"},
                },
            }
        ],
        "CurrencyRef": {"value": "GBP"},
        "GlobalTaxCalculation": "TaxExcluded",
        "PrivateNote": "sequence:invoice:inv_1",
    }


def test_credit_memo_payload_exactly() -> None:
    payload = builder.build_credit_memo(credit_note(), CTX)
    assert payload["TxnDate"] == "2025-11-20"
    assert payload["DocNumber"] == "CN-7"
    assert payload["PrivateNote"] == "sequence:credit_note:cn_1"
    assert payload["Line"] == builder.build_invoice(invoice(), CTX)["Line"]


# ---- field rows -----------------------------------------------------------------------------


def _line(payload: dict[str, Any], n: int = 0) -> dict[str, Any]:
    return payload["Line"][n]


ROWS: list[tuple[str, Invoice, BuildContext, Any, Any]] = [
    (
        "BillEmail: primary billing contact",
        invoice(),
        CTX,
        lambda p: p["BillEmail"],
        {"Address": "ap@acme.example"},
    ),
    (
        "BillEmail: SENT + merchant email -> merchant",
        invoice(status=DocumentStatus.SENT),
        CTX,
        lambda p: p["BillEmail"],
        {"Address": "billing@merchant.example"},
    ),
    (
        "BillEmail: SENT without merchant email -> customer",
        invoice(status=DocumentStatus.SENT),
        ctx(settings=settings(merchant_email=None)),
        lambda p: p["BillEmail"],
        {"Address": "ap@acme.example"},
    ),
    (
        "BillEmail: customer without an email -> left out",
        invoice(customer=CUSTOMER.model_copy(update={"email": ""})),
        CTX,
        lambda p: "BillEmail" in p,
        False,
    ),
    (
        "BillAddr: optional parts left out",
        invoice(
            customer=CUSTOMER.model_copy(
                update={"address": ADDRESS.model_copy(update={"line2": None, "state": None})}
            )
        ),
        CTX,
        lambda p: p["BillAddr"],
        {"Line1": "1 Main St", "City": "Leeds", "PostalCode": "LS1 1AA", "Country": "GB"},
    ),
    (
        "TxnDate: accounting date by setting",
        invoice(),
        ctx(settings=settings(txn_date_source="accounting_date")),
        lambda p: p["TxnDate"],
        "2025-10-31",
    ),
    (
        "TxnDate: accounting date setting, none set -> invoice date",
        invoice(accounting_date=None),
        ctx(settings=settings(txn_date_source="accounting_date")),
        lambda p: p["TxnDate"],
        "2025-11-01",
    ),
    ("DueDate: none -> left out", invoice(due_date=None), CTX, lambda p: "DueDate" in p, False),
    (
        "DocNumber: 21 characters is fine",
        invoice(number="X" * 21),
        CTX,
        lambda p: p["DocNumber"],
        "X" * 21,
    ),
    (
        "DocNumber: none -> QBO numbers it",
        invoice(number=None),
        ctx(company=replace(UK, custom_txn_numbers=False)),
        lambda p: "DocNumber" in p,
        False,
    ),
    (
        "CustomerMemo: none -> left out",
        invoice(memo=None),
        CTX,
        lambda p: "CustomerMemo" in p,
        False,
    ),
    (
        "CustomerMemo: cut at QBO's 1000",
        invoice(memo="m" * 1500),
        CTX,
        lambda p: len(p["CustomerMemo"]["value"]),
        1000,
    ),
    (
        "ItemRef: mapped product",
        invoice(group(item(product="prod_api"))),
        CTX,
        lambda p: _line(p)["SalesItemLineDetail"]["ItemRef"],
        {"value": "6"},
    ),
    (
        "ItemRef: unmapped product -> fallback item",
        invoice(group(item(product="prod_new"))),
        ctx(fallback_item_id="99"),
        lambda p: _line(p)["SalesItemLineDetail"]["ItemRef"],
        {"value": "99"},
    ),
    (
        "ItemRef: no product -> fallback item",
        invoice(group(item(product=None))),
        ctx(fallback_item_id="99"),
        lambda p: _line(p)["SalesItemLineDetail"]["ItemRef"],
        {"value": "99"},
    ),
    (
        "Description: no group title -> line title",
        invoice(group(item(), title="")),
        CTX,
        lambda p: _line(p)["Description"],
        "Seats",
    ),
    (
        "Description: unicode titles",
        invoice(group(item(title="Sièges — 席 🚀"), title="Plateforme")),
        CTX,
        lambda p: _line(p)["Description"],
        "Plateforme: Sièges — 席 🚀",
    ),
    (
        "Qty/UnitPrice/Amount: usage line QBO agrees with",
        invoice(group(item(qty="1234.5678", rate="0.0015", amount="1.85"))),
        CTX,
        lambda p: (
            _line(p)["Amount"],
            _line(p)["SalesItemLineDetail"]["Qty"],
            _line(p)["SalesItemLineDetail"]["UnitPrice"],
        ),
        (D("1.85"), D("1234.5678"), D("0.0015")),
    ),
    (
        "Qty/UnitPrice/Amount: no Qty x UnitPrice fits -> Qty 1, Sequence's in the description",
        invoice(group(item(qty="10000000", rate="0.0000125", amount="125.00", title="API calls"))),
        CTX,
        lambda p: (
            _line(p)["Description"],
            _line(p)["SalesItemLineDetail"]["Qty"],
            _line(p)["SalesItemLineDetail"]["UnitPrice"],
            _line(p)["Amount"],
        ),
        ("Platform: API calls (10000000 @ 0.0000125)", D(1), D("125.00"), D("125.00")),
    ),
    (
        "CurrencyRef: home currency, no ExchangeRate",
        invoice(),
        CTX,
        lambda p: (p["CurrencyRef"], "ExchangeRate" in p),
        ({"value": "GBP"}, False),
    ),
    (
        "CurrencyRef/ExchangeRate: EUR with rate",
        invoice(currency="EUR"),
        ctx(
            company=replace(UK, multi_currency_enabled=True),
            qbo_customer_currency="EUR",
            exchange_rate=D("0.8612"),
        ),
        lambda p: (p["CurrencyRef"], p["ExchangeRate"]),
        ({"value": "EUR"}, D("0.8612")),
    ),
    (
        "CurrencyRef: customer currency unknown (multi-currency off)",
        invoice(),
        ctx(qbo_customer_currency=None),
        lambda p: p["CurrencyRef"],
        {"value": "GBP"},
    ),
    (
        "PrivateNote: marker",
        invoice(id="inv_Z9"),
        CTX,
        lambda p: p["PrivateNote"],
        "sequence:invoice:inv_Z9",
    ),
]


@pytest.mark.parametrize(
    ("doc", "context", "pick", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_field_mapping(doc: Invoice, context: BuildContext, pick: Any, expected: Any) -> None:
    assert pick(builder.build_invoice(doc, context)) == expected


# ---- tax ------------------------------------------------------------------------------------


def _customer(status: TaxStatus) -> Customer:
    return CUSTOMER.model_copy(update={"tax_status": status})


TAX_ROWS = [
    ("UK standard: mapped category", CTX, TaxStatus.TAXED, "cat_zero", "4", None),
    ("UK standard: fallback", CTX, TaxStatus.TAXED, None, "2", None),
    ("UK exempt", CTX, TaxStatus.TAX_EXEMPT, "cat_zero", "9", None),
    ("UK reverse charge", CTX, TaxStatus.REVERSE_CHARGED, None, "12", None),
    (
        "US taxed: TAX on lines, code on the transaction",
        ctx(company=US, qbo_customer_currency=None, settings=settings(tax=TaxSettings())),
        TaxStatus.TAXED,
        None,
        "TAX",
        "7",
    ),
    (
        "US exempt: NON on lines",
        ctx(company=US, qbo_customer_currency=None, settings=settings(tax=TaxSettings())),
        TaxStatus.TAX_EXEMPT,
        None,
        "NON",
        "7",
    ),
    (
        "US reverse-charged: NON, no code anywhere",
        ctx(
            company=replace(US, default_tax_code=None),
            qbo_customer_currency=None,
            settings=settings(tax=TaxSettings()),
        ),
        TaxStatus.REVERSE_CHARGED,
        None,
        "NON",
        None,
    ),
]


@pytest.mark.parametrize(
    ("context", "status", "category", "line_code", "txn_code"),
    [r[1:] for r in TAX_ROWS],
    ids=[r[0] for r in TAX_ROWS],
)
def test_tax_codes(
    context: BuildContext,
    status: TaxStatus,
    category: str | None,
    line_code: str,
    txn_code: str | None,
) -> None:
    currency = context.company.home_currency
    doc = invoice(group(item(category=category)), customer=_customer(status), currency=currency)
    payload = builder.build_invoice(doc, context)
    assert _line(payload)["SalesItemLineDetail"]["TaxCodeRef"] == {"value": line_code}
    us = context.company.country == "US"
    assert ("GlobalTaxCalculation" in payload) is not us
    txn = payload.get("TxnTaxDetail", {}).get("TxnTaxCodeRef")
    assert txn == ({"value": txn_code} if txn_code else None)


def test_us_taxed_lines_mapped_to_two_codes_conflict() -> None:
    context = ctx(company=US, qbo_customer_currency=None, tax_mappings={"a": "7", "b": "8"})
    doc = invoice(group(item(1, category="a"), item(2, category="b")), currency="USD")
    assert failure(builder.build_invoice, doc, context).reason_code == Reason.TAX_CODE_CONFLICT


def test_us_non_line_does_not_conflict_with_taxed_lines() -> None:
    context = ctx(company=US, qbo_customer_currency=None, tax_mappings={"a": "NON", "b": "8"})
    doc = invoice(group(item(1, category="a"), item(2, category="b")), currency="USD")
    payload = builder.build_invoice(doc, context)
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in payload["Line"]] == [
        "NON",
        "TAX",
    ]
    # Sequence's tax goes along: QBO US honours an explicit TotalTax (docs/qbo-behaviours.md#tax).
    assert payload["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "8"}, "TotalTax": doc.total_tax}


# ---- failures -------------------------------------------------------------------------------

MC = replace(UK, multi_currency_enabled=True)
FAILURES = [
    (
        "22-character number",
        invoice(number="INV-2025-0000000000001"),
        CTX,
        Reason.DOC_NUMBER_TOO_LONG,
        "22 characters",
    ),
    (
        "custom transaction numbers off",
        invoice(),
        ctx(company=replace(UK, custom_txn_numbers=False)),
        Reason.CUSTOM_TXN_NUMBERS_OFF,
        "Custom transaction numbers",
    ),
    (
        "unmapped product, no fallback",
        invoice(group(item(product="prod_new"))),
        CTX,
        Reason.ITEM_NOT_MAPPED,
        "'prod_new'",
    ),
    (
        "foreign currency, multi-currency off",
        invoice(currency="EUR"),
        ctx(qbo_customer_currency=None, exchange_rate=D("0.86")),
        Reason.CURRENCY_MISMATCH,
        "EUR .* GBP",
    ),
    (
        "QBO customer in another currency",
        invoice(currency="EUR"),
        ctx(company=MC, qbo_customer_currency="USD", exchange_rate=D("0.86")),
        Reason.CURRENCY_MISMATCH,
        "EUR .* USD",
    ),
    (
        "home-currency document, customer in EUR",
        invoice(),
        ctx(company=MC, qbo_customer_currency="EUR"),
        Reason.CURRENCY_MISMATCH,
        "GBP .* EUR",
    ),
    (
        "foreign currency without a rate",
        invoice(currency="EUR"),
        ctx(company=MC, qbo_customer_currency="EUR"),
        Reason.EXCHANGE_RATE_MISSING,
        "EUR",
    ),
    (
        "no tax code at all",
        invoice(),
        ctx(settings=settings(tax=TaxSettings())),
        Reason.TAX_CODE_MISSING,
        "TAXED",
    ),
    (
        "line amounts do not add up to the net total",
        invoice(net_total=D("31.00"), gross_total=D("31.00")),
        CTX,
        Reason.TOTALS_MISMATCH,
        "30.00",
    ),
    (
        "amount finer than a cent",
        invoice(group(item(amount="30.001")), net_total=D("30.001"), gross_total=D("30.001")),
        CTX,
        Reason.AMOUNT_PRECISION,
        "30.001",
    ),
]


@pytest.mark.parametrize(
    ("doc", "context", "reason", "message"), [r[1:] for r in FAILURES], ids=[r[0] for r in FAILURES]
)
def test_failures(doc: Invoice, context: BuildContext, reason: Reason, message: str) -> None:
    caught = failure(builder.build_invoice, doc, context)
    assert caught.reason_code == reason
    assert re.search(message, caught.message), caught.message


def test_credit_note_fails_like_an_invoice() -> None:
    doc = credit_note(number="CN-" + "9" * 19)
    assert failure(builder.build_credit_memo, doc, CTX).reason_code == Reason.DOC_NUMBER_TOO_LONG


def test_credit_note_accounting_date() -> None:
    context = ctx(settings=settings(txn_date_source="accounting_date"))
    assert builder.build_credit_memo(credit_note(), context)["TxnDate"] == "2025-10-31"


# ---- volume ---------------------------------------------------------------------------------


def test_150_lines_in_order_and_totals_agree() -> None:
    items = [
        item(
            n,
            qty=str(n),
            rate="0.015",
            amount=str((D(n) * D("0.015")).quantize(D("0.01"))),
            title=f"Line {n}",
        )
        for n in range(1, 151)
    ]
    doc = invoice(group(*items[:75], title="A"), group(*items[75:], title="B"))
    lines = builder.build_invoice(doc, CTX)["Line"]
    assert len(lines) == 150
    assert [ln["Description"] for ln in lines[:1] + lines[-1:]] == ["A: Line 1", "B: Line 150"]
    assert sum(ln["Amount"] for ln in lines) == doc.net_total
    for ln in lines:
        detail = ln["SalesItemLineDetail"]
        assert qbo_line_amount(detail["Qty"], detail["UnitPrice"]) == ln["Amount"]


# ---- JSON, hash, request id -----------------------------------------------------------------


def test_to_json_writes_decimals_as_exact_numbers() -> None:
    doc = invoice(group(item(qty="1234.5678", rate="0.0015", amount="1.85")))
    payload = builder.build_invoice(doc, ctx(company=MC, qbo_customer_currency="GBP"))
    text = _json.dumps(payload)
    assert '"Qty":1234.5678' in text and '"UnitPrice":0.0015' in text
    assert '"Amount":1.85' in text
    assert json.loads(text, parse_float=Decimal) == payload


@pytest.mark.parametrize("value", [D("1E+3"), D("0.00000001"), D("-0")])
def test_to_json_never_uses_exponent_notation(value: Decimal) -> None:
    assert "E" not in _json.dumps({"x": value}).upper()


def test_to_json_refuses_floats_and_nan() -> None:
    with pytest.raises(TypeError):
        _json.dumps({"Amount": 1.5})
    with pytest.raises(ValueError):
        _json.dumps({"Amount": D("NaN")})


def test_payload_hash_is_stable_and_sensitive() -> None:
    payload = builder.build_invoice(invoice(), CTX)
    reordered = dict(reversed(list(payload.items())))
    assert builder.payload_hash(payload) == builder.payload_hash(reordered)
    assert builder.payload_hash({"a": D("1.5")}) == builder.payload_hash({"a": D("1.50")})
    changed = builder.build_invoice(invoice(memo="Changed"), CTX)
    assert builder.payload_hash(payload) != builder.payload_hash(changed)
    assert len(builder.payload_hash(payload)) == 64


def test_private_note_marker() -> None:
    assert builder.private_note_marker("credit_note", "cn_9") == "sequence:credit_note:cn_9"
