"""Sequence invoice / credit note snapshot → QBO Invoice / CreditMemo JSON.

The mapping field by field, and the currency rules: docs/qbo-mapping.md#invoices-and-credit-notes.

Pure: plain data in, a dict out, or a `BuildFailure` raised with a reason code. Money stays
`Decimal` in the dict; `qbo._json.dumps` writes it as JSON numbers, never through float.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, NoReturn

from qbo import _json, amounts, tax
from qbo.build_failure import BuildFailure, Reason
from qbo.customer import bill_addr
from schemas.models import CreditNote, DocumentStatus, Invoice, LineItem, LineItemGroup

__all__ = [
    "BuildContext",
    "BuildFailure",
    "Company",
    "Reason",
    "SyncSettings",
    "build_credit_memo",
    "build_invoice",
    "payload_hash",
    "private_note_marker",
]

DocType = Literal["invoice", "credit_note"]
Op = Literal["create", "update", "void"]
DOC_NUMBER_MAX = 21
MEMO_MAX = 1000
DESCRIPTION_MAX = 4000


@dataclass(frozen=True)
class Company:
    """Facts of the realm, from CompanyInfo and Preferences."""

    country: str  # "US" means sales tax with TAX/NON pseudo-codes
    home_currency: str  # Preferences.CurrencyPrefs.HomeCurrency
    multi_currency_enabled: bool = False
    custom_txn_numbers: bool = True  # Preferences.SalesFormsPrefs.CustomTxnNumbers
    default_tax_code: str | None = None  # Preferences.TaxPrefs.TaxGroupCodeRef


@dataclass(frozen=True)
class SyncSettings:
    merchant_email: str | None = None
    txn_date_source: Literal["document_date", "accounting_date"] = "document_date"
    tax: tax.TaxSettings = field(default_factory=tax.TaxSettings)


@dataclass(frozen=True)
class BuildContext:
    qbo_customer_id: str
    company: Company
    settings: SyncSettings = field(default_factory=SyncSettings)
    qbo_customer_currency: str | None = None
    qbo_customer_default_tax_code: str | None = None
    item_mappings: Mapping[str, str] = field(default_factory=dict)  # product_id → Item Id
    fallback_item_id: str | None = None
    tax_mappings: Mapping[str, str] = field(default_factory=dict)  # tax category → TaxCode
    exchange_rate: Decimal | None = None  # home units per 1 foreign unit

    @property
    def tax_defaults(self) -> tax.TaxDefaults:
        return tax.TaxDefaults(
            us=self.company.country == "US",
            company_default=self.company.default_tax_code,
            customer_default=self.qbo_customer_default_tax_code,
        )


def build_invoice(invoice: Invoice, ctx: BuildContext) -> dict[str, Any]:
    payload = _document(invoice, invoice.invoice_date, ctx)
    return {**payload, "PrivateNote": private_note_marker("invoice", invoice.id)}


def build_credit_memo(credit_note: CreditNote, ctx: BuildContext) -> dict[str, Any]:
    payload = _document(credit_note, credit_note.issue_date, ctx)
    return {**payload, "PrivateNote": private_note_marker("credit_note", credit_note.id)}


def private_note_marker(doc_type: DocType, sequence_id: str) -> str:
    """The PrivateNote we write and look duplicates up by, e.g. `sequence:invoice:inv_123`."""
    return f"sequence:{doc_type}:{sequence_id}"


def _document(doc: Invoice | CreditNote, doc_date: dt.date, ctx: BuildContext) -> dict[str, Any]:
    defaults = ctx.tax_defaults  # once per document, not per line
    lines = [
        _line(group, item, doc, ctx, defaults)
        for group in doc.line_item_groups
        for item in group.line_items
    ]
    amounts.check_totals(
        (ln["Amount"] for ln, _ in lines), doc.net_total, doc.total_tax, doc.gross_total
    )
    payload = {
        "CustomerRef": {"value": ctx.qbo_customer_id},
        **_bill_email(doc, ctx.settings),
        "BillAddr": bill_addr(doc.customer.address),
        "TxnDate": _txn_date(doc, doc_date, ctx.settings).isoformat(),
        **_optional(doc, ctx.company),
        "Line": [ln for ln, _ in lines],
        **_currency(doc.currency, ctx),
    }
    return {**payload, **_tax_fields([choice for _, choice in lines], doc.total_tax, defaults)}


def _optional(doc: Invoice | CreditNote, company: Company) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if doc.due_date is not None:
        out["DueDate"] = doc.due_date.isoformat()
    if doc.number is not None:
        out["DocNumber"] = _doc_number(doc.number, company)
    if doc.memo:
        # QBO caps CustomerMemo at 1000 characters; a cut memo beats a document that fails.
        out["CustomerMemo"] = {"value": doc.memo[:MEMO_MAX]}
    return out


def _bill_email(doc: Invoice | CreditNote, settings: SyncSettings) -> dict[str, Any]:
    # Sequence already emailed a SENT document: point QBO at the merchant so that nothing QBO
    # sends (a later "send", automatic reminders) reaches the customer a second time.
    email = doc.customer.email
    if doc.status is DocumentStatus.SENT and settings.merchant_email:
        email = settings.merchant_email
    return {"BillEmail": {"Address": email}} if email.strip() else {}


def _txn_date(doc: Invoice | CreditNote, doc_date: dt.date, settings: SyncSettings) -> dt.date:
    if settings.txn_date_source == "accounting_date" and doc.accounting_date is not None:
        return doc.accounting_date
    return doc_date


def _doc_number(number: str, company: Company) -> str:
    if not company.custom_txn_numbers:
        raise BuildFailure(
            Reason.CUSTOM_TXN_NUMBERS_OFF,
            f"document number {number!r} cannot be "
            "kept: custom transaction numbers are off in QBO, so QBO would number "
            "it itself; turn on Settings → Sales → Custom transaction numbers",
        )
    if len(number) > DOC_NUMBER_MAX:
        raise BuildFailure(
            Reason.DOC_NUMBER_TOO_LONG,
            f"document number {number!r} has "
            f"{len(number)} characters; QBO allows at most {DOC_NUMBER_MAX}",
        )
    return number


def _line(
    group: LineItemGroup,
    item: LineItem,
    doc: Invoice | CreditNote,
    ctx: BuildContext,
    defaults: tax.TaxDefaults,
) -> tuple[dict[str, Any], tax.TaxChoice]:
    choice = tax.choose_tax(
        doc.customer.tax_status,
        item.tax_category_id,
        group.tax_category_id,
        ctx.tax_mappings,
        ctx.settings.tax,
        defaults,
    )
    qbo = amounts.qbo_line(item.quantity, item.rate, item.amount)
    detail = {
        "ItemRef": {"value": _item_ref(item, ctx)},
        "Qty": qbo.qty,
        "UnitPrice": qbo.unit_price,
        "TaxCodeRef": {"value": choice.line_code},
    }
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": qbo.amount,
        "Description": _description(group, item, qbo),
        "SalesItemLineDetail": detail,
    }
    return line, choice


def _item_ref(item: LineItem, ctx: BuildContext) -> str:
    item_id = ctx.item_mappings.get(item.product_id or "") or ctx.fallback_item_id
    if item_id:
        return item_id
    product = f"product {item.product_id!r}" if item.product_id else "a line without a product"
    raise BuildFailure(
        Reason.ITEM_NOT_MAPPED,
        f"{product} (line {item.title!r}) is not mapped to a QBO item and no fallback item is set",
    )


def _description(group: LineItemGroup, item: LineItem, qbo: amounts.QboLine) -> str:
    text = f"{group.title}: {item.title}" if group.title else item.title
    if not qbo.exact:
        # QBO shows other Qty/UnitPrice than Sequence (see docs/amounts.md): say Sequence's.
        text += f" ({item.quantity:f} @ {item.rate:f})"
    return text[:DESCRIPTION_MAX]


def _currency(currency: str, ctx: BuildContext) -> dict[str, Any]:
    company, customer = ctx.company, ctx.qbo_customer_currency
    if customer is not None and customer != currency:
        _mismatch(f"the document is in {currency} but the QBO customer is in {customer}")
    if currency == company.home_currency:
        return {"CurrencyRef": {"value": currency}}
    if not company.multi_currency_enabled:
        _mismatch(
            f"the document is in {currency} but the QBO company's home currency is "
            f"{company.home_currency} and multi-currency is off"
        )
    if ctx.exchange_rate is None or ctx.exchange_rate <= 0:
        raise BuildFailure(
            Reason.EXCHANGE_RATE_MISSING,
            f"no {currency}→{company.home_currency} exchange rate for a foreign-currency document",
        )
    return {"CurrencyRef": {"value": currency}, "ExchangeRate": ctx.exchange_rate}


def _mismatch(message: str) -> NoReturn:
    raise BuildFailure(Reason.CURRENCY_MISMATCH, message)


def _tax_fields(
    choices: list[tax.TaxChoice], total_tax: Decimal, defaults: tax.TaxDefaults
) -> dict[str, Any]:
    if not defaults.us:
        return {"GlobalTaxCalculation": "TaxExcluded"}
    taxed = {c.txn_code for c in choices if c.line_code == tax.TAX}
    if len(taxed) > 1:
        raise BuildFailure(
            Reason.TAX_CODE_CONFLICT,
            "QBO US takes one tax code per transaction "
            f"but the taxed lines map to {sorted(taxed, key=str)}",
        )
    code = next(iter(taxed), None) or next((c.txn_code for c in choices if c.txn_code), None)
    # US: an explicit TotalTax is honoured (prorated over the code's rates), so QBO's total
    # equals Sequence's gross. Elsewhere QBO computes VAT from the line codes itself.
    return (
        {"TxnTaxDetail": {"TxnTaxCodeRef": {"value": code}, "TotalTax": total_tax}} if code else {}
    )


def payload_hash(payload: Any) -> str:
    """sha256 of canonical JSON: sorted keys, no spaces, Decimals as normalised strings."""
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class _Odd(Exception):
    """A value `_plain` does not convert: `_json.dumps` decides what it becomes."""


def _canonical(payload: Any) -> str:
    """`_json.dumps(payload, canonical=True)`, byte for byte, in one encoder pass: that writes
    each scalar with a json.dumps call of its own (~60 µs for an invoice, 5x this). Anything
    but plain dicts, lists, tuples, str, int, bool, None and Decimal goes the reference way."""
    try:
        return _CANONICAL.encode(_plain(payload))
    except _Odd:
        return _json.dumps(payload, canonical=True)


def _plain(value: Any) -> Any:
    """The payload with each Decimal as its canonical string (what `_json` writes for it)."""
    kind = type(value)
    if kind is dict:
        if any(type(k) is not str for k in value):
            raise _Odd  # sort order and key text of other key types: the reference decides
        return {k: _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    if kind is Decimal:
        if not value.is_finite():
            raise _Odd
        return f"{value.normalize():f}"
    if kind is str or kind is int or kind is bool or value is None:
        return value
    raise _Odd
