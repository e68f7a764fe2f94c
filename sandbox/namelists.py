"""Name-list entities (Customer, Item, Account): required fields, unique names, defaults."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox import addresses, faults, money, refs
from sandbox.profiles import CURRENCY_NAMES
from sandbox.realm import Realm

ITEM_TYPES = {
    "Assembly",
    "Category",
    "Fixed Asset",
    "Group",
    "Inventory",
    "NonInventory",
    "Other Charge",
    "Payment",
    "Service",
    "Subtotal",
    "Discount",
    "Tax",
    "Tax Group",
    "Bundle",
}
SOLD_TYPES = {"Service", "Inventory", "NonInventory", "Other Charge", "Assembly"}
ACCOUNT_CLASS = {
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
}

# QBO fills AccountSubType when a create leaves it out; which one it picks is not documented,
# so each type gets its most generic subtype (Intuit's AccountSubTypeEnum names).
DEFAULT_SUBTYPE = {
    "Income": "SalesOfProductIncome",
    "Other Income": "OtherMiscellaneousIncome",
    "Bank": "Checking",
    "Accounts Receivable": "AccountsReceivable",
    "Other Current Asset": "OtherCurrentAssets",
    "Fixed Asset": "OtherFixedAssets",
    "Other Asset": "OtherLongTermAssets",
    "Expense": "OtherMiscellaneousServiceCost",
    "Other Expense": "OtherMiscellaneousExpense",
    "Cost of Goods Sold": "SuppliesMaterialsCogs",
    "Accounts Payable": "AccountsPayable",
    "Credit Card": "CreditCard",
    "Other Current Liability": "OtherCurrentLiabilities",
    "Long Term Liability": "OtherLongTermLiabilities",
    "Equity": "OwnersEquity",
}


def _unique(realm: Realm, entity: str, name: str, self_id: str | None, kind: str) -> None:
    # QBO compares names case-insensitively and counts inactive objects too.
    owner = realm.indexes.name_owner(entity, name)
    if owner is not None and owner != self_id:
        raise faults.duplicate_name(kind)


def _length(data: dict[str, Any], key: str, maximum: int) -> None:
    text = data.get(key)
    if isinstance(text, str) and len(text) > maximum:
        raise faults.string_length(key, maximum, len(text))


def _display_name(data: dict[str, Any]) -> str:
    # QBO derives DisplayName from the person's name or the company name when it is omitted.
    if data.get("DisplayName"):
        return str(data["DisplayName"]).strip()
    parts = [data.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
    person = " ".join(str(p) for p in parts if p)
    return person or str(data.get("CompanyName") or "").strip()


def has_transactions(realm: Realm, customer_id: str) -> bool:
    return bool(realm.indexes.by_customer.get(customer_id))


def _customer_currency(realm: Realm, data: dict[str, Any], old: dict[str, Any] | None) -> str:
    currency = (
        refs.value(data, "CurrencyRef")
        or (refs.value(old, "CurrencyRef") if old else None)
        or realm.home_currency
    )
    if currency != realm.home_currency and not realm.multicurrency:
        raise faults.business("Multicurrency is not enabled for this company.", "CurrencyRef")
    if realm.rate(currency, None) is None:
        raise faults.not_found("Currency", currency, "CurrencyRef")
    if old and refs.value(old, "CurrencyRef") != currency and has_transactions(realm, old["Id"]):
        # Customer currency is fixed once transactions are posted.
        raise faults.business(
            "You can't change the currency of a customer that has transactions.", "CurrencyRef"
        )
    return currency


def prepare_customer(
    realm: Realm, data: dict[str, Any], old: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    name = _display_name(data)
    if not name:
        raise faults.required("DisplayName")
    if ":" in name:
        raise faults.invalid("DisplayName", "DisplayName cannot contain a colon (:).")
    _length({"DisplayName": name}, "DisplayName", 500)
    _unique(realm, "Customer", name, old["Id"] if old else None, "customer")
    currency = _customer_currency(realm, data, old)
    refs.optional(realm, data, "DefaultTaxCodeRef", "TaxCode")
    # Job and BillWithParent are on every recorded customer, though no client sends them.
    obj = {
        "Taxable": True,
        "Job": False,
        "BillWithParent": False,
        "Active": True,
        "PreferredDeliveryMethod": "Print",
        **data,
    }
    addresses.assign(realm, obj, old)
    balance = old.get("Balance", 0) if old else 0
    obj.update(
        DisplayName=name,
        FullyQualifiedName=name,
        Balance=balance,
        BalanceWithJobs=balance,
        PrintOnCheckName=data.get("PrintOnCheckName") or name,
        CurrencyRef={"value": currency, "name": CURRENCY_NAMES.get(currency, currency)},
    )
    return obj


def prepare_item(
    realm: Realm, data: dict[str, Any], old: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    name = str(data.get("Name") or "").strip()
    if not name:
        raise faults.required("Name")
    _length({"Name": name}, "Name", 100)
    _unique(realm, "Item", name, old["Id"] if old else None, "product or service")
    kind = data.get("Type") or "Service"
    if kind not in ITEM_TYPES:
        raise faults.invalid("Type", f"Type value {kind} is not supported")
    obj = {"Active": True, "Taxable": False, "TrackQtyOnHand": False, **data}
    if kind in SOLD_TYPES:
        account = refs.required(realm, data, "IncomeAccountRef", "Account")
        obj["IncomeAccountRef"] = refs.named("Account", account)
    for key in ("ExpenseAccountRef", "AssetAccountRef"):
        other = refs.optional(realm, data, key, "Account")
        if other is not None:
            obj[key] = refs.named("Account", other)
    # QBO answers UnitPrice and PurchaseCost 0 when none was given (recorded items).
    obj.update(
        Name=name,
        FullyQualifiedName=name,
        Type=kind,
        UnitPrice=_price(data.get("UnitPrice")),
        PurchaseCost=_price(data.get("PurchaseCost")),
    )
    return obj


def _price(raw: Any) -> Decimal:
    try:
        return money.dec(raw)
    except money.NotANumber:
        return money.ZERO


def prepare_account(
    realm: Realm, data: dict[str, Any], old: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    name = str(data.get("Name") or "").strip()
    if not name:
        raise faults.required("Name")
    _length({"Name": name}, "Name", 100)
    _unique(realm, "Account", name, old["Id"] if old else None, "account")
    kind = data.get("AccountType")
    if not kind:
        raise faults.required("AccountType")
    if kind not in ACCOUNT_CLASS:
        raise faults.invalid("AccountType", f"AccountType value {kind} is not supported")
    currency = refs.value(data, "CurrencyRef") or realm.home_currency
    obj = {
        "AccountSubType": DEFAULT_SUBTYPE[kind],
        "Active": True,
        "SubAccount": False,
        "CurrentBalance": 0,
        "CurrentBalanceWithSubAccounts": 0,
        **data,
    }
    obj.update(
        Name=name,
        FullyQualifiedName=name,
        Classification=ACCOUNT_CLASS[kind],
        CurrencyRef={"value": currency, "name": CURRENCY_NAMES.get(currency, currency)},
    )
    return obj
