"""Invoice and CreditMemo: validation, totals, tax, Balance, void and send."""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox import addresses, balances, clock, faults, lines, money, refs, tax
from sandbox.profiles import CURRENCY_NAMES
from sandbox.realm import Realm

READ_ONLY = frozenset(
    {
        "TotalAmt",
        "Balance",
        "HomeBalance",
        "HomeTotalAmt",
        "LinkedTxn",
        "DeliveryInfo",
        "InvoiceLink",
        "RemainingCredit",
        "UnappliedAmt",
    }
)
LIMITS = (("DocNumber", 21), ("PrivateNote", 4000))
# On every recorded invoice (quickbooks-ruby's fixtures), whatever the company's payment setup.
INVOICE_DEFAULTS = {
    "AllowIPNPayment": False,
    "AllowOnlinePayment": False,
    "AllowOnlineCreditCardPayment": False,
    "AllowOnlineACHPayment": False,
}


def txn_date(data: dict[str, Any], key: str, now: datetime) -> date:
    raw = data.get(key)
    if not raw:
        return now.date()
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError as exc:
        raise faults.invalid(key, f"{key} is not a valid date") from exc


def currency_and_rate(
    realm: Realm, data: dict[str, Any], customer: dict[str, Any], on: date
) -> tuple[str, Decimal]:
    """The transaction is in the customer's currency, at a rate of home units per foreign unit."""
    own = refs.value(customer, "CurrencyRef") or realm.home_currency
    currency = refs.value(data, "CurrencyRef") or own
    if currency != own:
        raise faults.business(
            "The transaction needs to be in the same currency as the A/R and "
            f"A/P accounts you use. Customer currency {own}, transaction "
            f"currency {currency}.",
            "CurrencyRef",
        )
    if currency == realm.home_currency:
        return currency, Decimal(1)
    if data.get("ExchangeRate") not in (None, ""):
        return currency, money.dec(data["ExchangeRate"])
    rate = realm.rate(currency, on)
    if rate is None:
        raise faults.business(f"No exchange rate for {currency} on {on}.", "ExchangeRate")
    return currency, rate


def _doc_number(
    realm: Realm, entity: str, data: dict[str, Any], old: dict[str, Any] | None
) -> str | None:
    number = data.get("DocNumber") or None
    if number == "AUTO_GENERATE" or (number is None and not realm.custom_txn_numbers):
        number = (old or {}).get("DocNumber") or _next_number(realm, entity)
    if number is None:
        return None
    number = str(number)
    self_id = old["Id"] if old else None
    others = realm.indexes.doc_owners(entity, number) - {self_id}
    if realm.enforce_unique_doc_number and others:
        raise faults.duplicate_doc_number(number, entity, min(others, key=int))
    return number


def _next_number(realm: Realm, entity: str) -> str:
    # Auto-numbering continues after the highest numeric DocNumber, from 1001.
    return str(realm.indexes.max_doc[entity] + 1)


def _check_lengths(data: dict[str, Any]) -> None:
    for key, maximum in LIMITS:
        if isinstance(data.get(key), str) and len(data[key]) > maximum:
            raise faults.string_length(key, maximum, len(data[key]))
    memo = (data.get("CustomerMemo") or {}).get("value", "")
    if len(memo) > 1000:
        raise faults.string_length("CustomerMemo", 1000, len(memo))
    email = (data.get("BillEmail") or {}).get("Address", "")
    if len(email) > 100:
        raise faults.string_length("BillEmail", 100, len(email))


def _tax(
    realm: Realm, data: dict[str, Any], items: list[dict[str, Any]], customer: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    if realm.is_us:
        for line in items:
            tax.check_us_line_code(line)
        return tax.us_tax(realm, data, items, customer.get("Taxable", True) is not False), None
    mode = data.get("GlobalTaxCalculation") or "TaxExcluded"
    if mode not in ("TaxExcluded", "TaxInclusive", "NotApplicable"):
        raise faults.invalid("GlobalTaxCalculation", f"GlobalTaxCalculation {mode}")
    return tax.vat(realm, mode, items), mode


def prepare(
    entity: str, realm: Realm, data: dict[str, Any], old: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """Validate an Invoice/CreditMemo and compute every read-only figure QBO returns."""
    if old is not None and (entity, old["Id"]) in realm.voided:
        raise faults.business("This transaction has been voided and can't be changed.")
    _check_lengths(data)
    customer = refs.required(realm, data, "CustomerRef", "Customer")
    on = txn_date(data, "TxnDate", now)
    currency, rate = currency_and_rate(realm, data, customer, on)
    built, subtotal, discount = lines.build(realm, data.get("Line"))
    detail, mode = _tax(realm, data, lines.item_lines(built), customer)
    net = subtotal - discount
    total = net if mode == "TaxInclusive" else net + detail["TotalTax"]
    obj = {
        "EmailStatus": "NotSet",
        "PrintStatus": "NotSet",
        "ApplyTaxAfterDiscount": False,
        "Deposit": 0,
        **(INVOICE_DEFAULTS if entity == "Invoice" else {}),
        **data,
        "Line": built,
        "TxnTaxDetail": detail,
        "TotalAmt": total,
        "CustomerRef": refs.named("Customer", customer),
        "TxnDate": on.isoformat(),
        "CurrencyRef": {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)},
    }
    _optional_fields(realm, entity, obj, data, old, mode, rate)
    addresses.from_customer(realm, obj, customer, old)
    balances.set_open(realm, entity, obj, old["Id"] if old else None)
    return obj


def _optional_fields(
    realm: Realm,
    entity: str,
    obj: dict[str, Any],
    data: dict[str, Any],
    old: dict[str, Any] | None,
    mode: str | None,
    rate: Decimal,
) -> None:
    obj.pop("DocNumber", None)
    number = _doc_number(realm, entity, data, old)
    if number is not None:
        obj["DocNumber"] = number
    if mode is not None:
        obj["GlobalTaxCalculation"] = mode
    if entity == "Invoice":
        obj["DueDate"] = str(data.get("DueDate") or obj["TxnDate"])
    if realm.multicurrency:
        obj["ExchangeRate"] = rate
        obj["HomeTotalAmt"] = money.round2(obj["TotalAmt"] * rate)
    if old and "DeliveryInfo" in old:
        obj["DeliveryInfo"] = old["DeliveryInfo"]


def void(realm: Realm, entity: str, obj: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Void keeps the document but zeroes its amounts; PrivateNote becomes "Voided"."""
    if balances.applications(realm, entity, obj["Id"]):
        raise faults.business("This transaction has payments applied; remove them first.")
    new = copy.deepcopy(obj)
    for line in new["Line"]:
        line["Amount"] = money.ZERO
    detail = new.get("TxnTaxDetail") or {}
    detail["TotalTax"] = money.ZERO
    for tax_line in detail.get("TaxLine", []):
        tax_line["Amount"] = money.ZERO
    new.update(TotalAmt=money.ZERO, Balance=money.ZERO, PrivateNote="Voided")
    for key in ("HomeTotalAmt", "HomeBalance", "RemainingCredit"):
        if key in new:
            new[key] = money.ZERO
    realm.voided.add((entity, obj["Id"]))
    stored = realm.replace(entity, new, now, operation="Void")
    balances.refresh_customer(realm, refs.value(stored, "CustomerRef"))
    return stored


def send(realm: Realm, obj: dict[str, Any], send_to: str | None, now: datetime) -> dict[str, Any]:
    """POST /invoice/{id}/send: EmailStatus EmailSent, DeliveryInfo, BillEmail = the address."""
    address = send_to or (obj.get("BillEmail") or {}).get("Address")
    if not address:
        raise faults.business("Email address is required to send this transaction.", "BillEmail")
    new = copy.deepcopy(obj)
    new.update(
        EmailStatus="EmailSent",
        BillEmail={"Address": address},
        DeliveryInfo={"DeliveryType": "Email", "DeliveryTime": clock.meta_time(now)},
    )
    realm.emails.append(
        {
            "entity": "Invoice",
            "Id": obj["Id"],
            "to": address,
            "DocNumber": obj.get("DocNumber"),
            "time": clock.meta_time(now),
        }
    )
    return realm.replace("Invoice", new, now, operation="Emailed")
