"""Typed views of the decoded events (pydantic, frozen). Money becomes `Decimal` here, dates
`date`; a malformed decimal string is a validation error, never a silent zero."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

# ASCII digits only (`\d` would take any Unicode digit), at most 18 before the point: no
# amount in a ledger is larger, and an absurd one is refused here, as invalid input, rather
# than reaching QBO or overflowing arithmetic. 18 places after it cover any rate or quantity.
MAX_INTEGER_DIGITS = 18
_DECIMAL = re.compile(r"-?[0-9]{1,18}(\.[0-9]{1,18})?")
_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError(
            f"not an exact decimal string of at most {MAX_INTEGER_DIGITS} integer digits: "
            f"{value[:40]!r}" + ("…" if len(value) > 40 else "")
        )
    if isinstance(value, float):
        raise ValueError("money must not be a float")
    return value


def _bounded(value: Decimal) -> Decimal:
    """The same bound for values given as numbers (Decimal, int) rather than strings."""
    if not value.is_finite() or abs(value) >= _LIMIT:
        raise ValueError(f"amount out of range (at most {MAX_INTEGER_DIGITS} integer digits)")
    return value


def _money(value: Any, checked: ValidatorFunctionWrapHandler) -> Any:
    """The common case in one step: a short exact decimal string (the events' form) is within
    the bound, so it becomes its Decimal here; anything else takes the full path. Short: at most
    _SHORT characters, so `_bounded`'s abs() (28 digits of context precision) would be exact; a
    longer string can round up to the bound there, and is refused as before."""
    if type(value) is str and len(value) <= _SHORT and _DECIMAL.fullmatch(value):
        return Decimal(value)
    return checked(value)


_SHORT = 28


# The wrap validator is outermost (last): the Before/After pair stays the rule for other input.
Money = Annotated[
    Decimal, BeforeValidator(_exact_decimal), AfterValidator(_bounded), WrapValidator(_money)
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaxStatus(StrEnum):
    TAXED = "TAXED"
    TAX_EXEMPT = "TAX_EXEMPT"
    REVERSE_CHARGED = "REVERSE_CHARGED"


class DocumentStatus(StrEnum):
    DRAFT = "DRAFT"
    FINAL = "FINAL"
    SENT = "SENT"
    VOIDED = "VOIDED"


class PaymentStatus(StrEnum):
    UNPAID = "UNPAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    UNCOLLECTIBLE = "UNCOLLECTIBLE"


class Address(_Frozen):
    line1: str
    line2: str | None = None
    town: str
    state: str | None = None
    postcode: str
    country: str = Field(pattern=r"^[A-Z]{2}$")


class Customer(_Frozen):
    id: str
    legal_name: str
    email: str
    billing_emails: tuple[str, ...] = ()
    address: Address
    tax_status: TaxStatus
    tax_id: str | None = None
    archived: bool = False


class LineItem(_Frozen):
    id: str
    title: str
    description: str | None = None
    product_id: str | None = None
    quantity: Money
    rate: Money
    amount: Money
    tax_category_id: str | None = None
    tax_rate: Money | None = None
    tax_amount: Money | None = None


class LineItemGroup(_Frozen):
    id: str
    title: str
    tax_category_id: str | None = None
    line_items: tuple[LineItem, ...]


class _Document(_Frozen):
    id: str
    number: str | None = None
    status: DocumentStatus
    payment_status: PaymentStatus
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    due_date: dt.date | None = None
    accounting_date: dt.date | None = None
    memo: str | None = None
    purchase_order_number: str | None = None
    customer_id: str
    customer: Customer
    line_item_groups: tuple[LineItemGroup, ...]
    net_total: Money
    total_tax: Money
    gross_total: Money
    stripe_payment_link: bool = False


class Invoice(_Document):
    invoice_date: dt.date


class CreditNote(_Document):
    issue_date: dt.date
    invoice_id: str
    invoice_number: str | None = None


class _Envelope(_Frozen):
    event_id: UUID
    occurred_at: dt.datetime
    account_id: str


class CustomerUpdated(_Envelope):
    customer: Customer


class InvoiceEvent(_Envelope):
    """invoice.finalized, invoice.sent and invoice.voided share this shape."""

    invoice: Invoice


class CreditNoteSent(_Envelope):
    credit_note: CreditNote


class InvoicePaymentStatus(StrEnum):
    """The payment states `invoice.payment_status_changed` announces (QBO's view)."""

    UNPAID = "UNPAID"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"


class QboPaymentApplied(_Frozen):
    qbo_payment_id: str
    txn_date: dt.date | None = None
    amount: Money


class InvoicePaymentStatusChanged(_Envelope):
    """`invoice.payment_status_changed`: one per change of an invoice's payment state."""

    invoice_id: str
    invoice_number: str | None = None
    realm_id: str
    qbo_invoice_id: str
    version: int = Field(ge=1)
    status: InvoicePaymentStatus
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount_paid: Money
    balance: Money
    payments: tuple[QboPaymentApplied, ...] = ()
