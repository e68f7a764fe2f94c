"""Company profiles seeded on realm creation: US sales tax, UK VAT, multi-currency GBP home.

Ids follow Intuit's sandbox where known ("sandbox UK 'Exempt From VAT' is Id 2").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox import addresses
from sandbox.realm import Realm

PROFILES = ("US", "UK", "MULTI")
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "GBP": "British Pound Sterling",
    "EUR": "Euro",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
}
# Home units per 1 foreign unit for the multi-currency profile; settable via the admin API.
MULTI_RATES = {"EUR": Decimal("0.86"), "USD": Decimal("0.79")}


def seed(realm: Realm, now: datetime, custom_txn_numbers: bool = True) -> None:
    """Fill a fresh realm according to its profile."""
    _accounts(realm, now)
    if realm.is_us:
        _us_tax(realm, now)
    else:
        _uk_tax(realm, now)
    _item(realm, now)
    realm.insert("Preferences", _preferences(realm, custom_txn_numbers), now)
    realm.insert("CompanyInfo", _company(realm), now)
    if realm.profile == "MULTI":
        _multi(realm, now)


def _ref(value: str, name: str | None = None) -> dict[str, str]:
    return {"value": value, "name": name} if name else {"value": value}


def _accounts(realm: Realm, now: datetime) -> None:
    cur = _ref(realm.home_currency, CURRENCY_NAMES[realm.home_currency])
    rows = [
        ("Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
        ("Services", "Income", "ServiceFeeIncome", "Revenue"),
        ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
        ("Checking", "Bank", "Checking", "Asset"),
        ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
    ]
    for name, kind, sub, classification in rows:
        realm.insert(
            "Account",
            {
                "Name": name,
                "FullyQualifiedName": name,
                "AccountType": kind,
                "AccountSubType": sub,
                "Classification": classification,
                "Active": True,
                "SubAccount": False,
                "CurrentBalance": 0,
                "CurrentBalanceWithSubAccounts": 0,
                "CurrencyRef": cur,
            },
            now,
        )


def _item(realm: Realm, now: datetime) -> None:
    realm.insert(
        "Item",
        {
            "Name": "Services",
            "FullyQualifiedName": "Services",
            "Type": "Service",
            "IncomeAccountRef": _ref("2", "Services"),
            "UnitPrice": 0,
            "PurchaseCost": 0,
            "Taxable": realm.is_us,
            "Active": True,
            "TrackQtyOnHand": False,
        },
        now,
    )


def _rate(
    realm: Realm, now: datetime, ident: str, name: str, value: str, special: str | None = None
) -> None:
    obj: dict[str, Any] = {
        "Id": ident,
        "Name": name,
        "Description": name,
        "Active": True,
        "RateValue": Decimal(value),
        "AgencyRef": _ref("1"),
        "DisplayType": "ReadOnly",
        "EffectiveTaxRate": [
            {"RateValue": Decimal(value), "EffectiveDate": "2000-01-01T00:00:00-08:00"}
        ],
    }
    # quickbooks-ruby's recorded tax rate says NONE rather than leaving the field out.
    obj["SpecialTaxType"] = special or "NONE"
    realm.insert("TaxRate", obj, now)


def _code(
    realm: Realm, now: datetime, ident: str, name: str, rates: list[str], taxable: bool = True
) -> None:
    # Each TaxRateRef carries the rate's name (quickbooks-ruby's recorded tax code).
    details = [
        {
            "TaxRateRef": _ref(r, realm.require("TaxRate", r)["Name"]),
            "TaxTypeApplicable": "TaxOnAmount",
            "TaxOrder": 0,
        }
        for r in rates
    ]
    realm.insert(
        "TaxCode",
        {
            "Id": ident,
            "Name": name,
            "Description": name,
            "Active": True,
            "Hidden": False,
            "Taxable": taxable,
            "TaxGroup": len(rates) > 1,
            "SalesTaxRateList": {"TaxRateDetail": details},
            "PurchaseTaxRateList": {"TaxRateDetail": []},
        },
        now,
    )


def _us_tax(realm: Realm, now: datetime) -> None:
    # US lines carry the pseudo-codes TAX/NON; the rates come from the transaction tax code.
    _rate(realm, now, "1", "California", "7.25")
    _rate(realm, now, "2", "San Francisco", "1.375")
    _code(realm, now, "TAX", "TAX", [], taxable=True)
    _code(realm, now, "NON", "NON", [], taxable=False)
    _code(realm, now, "2", "San Francisco", ["1", "2"])
    _code(realm, now, "3", "California", ["1"])
    realm.next_ids["TaxCode"] = 4


def _uk_tax(realm: Realm, now: datetime) -> None:
    _rate(realm, now, "1", "20.0% S", "20")
    _rate(realm, now, "2", "0.0% Z", "0")
    _rate(realm, now, "3", "Exempt", "0", special="EXEMPT")
    # Domestic reverse charge: the buyer accounts for the VAT, so the seller's invoice has none.
    _rate(realm, now, "4", "20.0% RC", "20", special="REVERSE_CHARGE")
    _code(realm, now, "1", "No VAT", [], taxable=False)
    _code(realm, now, "2", "Exempt", ["3"])
    _code(realm, now, "3", "20.0% S", ["1"])
    _code(realm, now, "4", "0.0% Z", ["2"])
    _code(realm, now, "5", "20.0% RC", ["4"])


def _preferences(realm: Realm, custom_txn_numbers: bool) -> dict[str, Any]:
    us = realm.is_us
    tax: dict[str, Any] = {"UsingSalesTax": True, "PartnerTaxEnabled": realm.is_us}
    if realm.is_us:
        tax["TaxGroupCodeRef"] = _ref("2")
    # The blocks of quickbooks-ruby's recorded Preferences (values: a fresh company's).
    return {
        "Id": "1",
        "AccountingInfoPrefs": {
            "UseAccountNumbers": False,
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "FirstMonthOfFiscalYear": "January",
            "TaxYearMonth": "January",
            "CustomerTerminology": "Customers",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": False,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": False,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": custom_txn_numbers,
            "AllowDeposit": False,
            "AllowDiscount": True,
            "AllowEstimates": True,
            "AllowServiceDate": False,
            "AllowShipping": False,
            "DefaultDeliveryMethod": "None",
            "AutoApplyCredit": True,
            "AutoApplyPayments": True,
            "EmailCopyToCompany": False,
            "ETransactionEnabledStatus": "NotApplicable",
            "ETransactionAttachPDF": False,
            "ETransactionPaymentEnabled": False,
            "IPNSupportEnabled": False,
            "UsingPriceLevels": False,
        },
        "EmailMessagesPrefs": {
            "InvoiceMessage": {
                "Subject": "Invoice",
                "Message": "Here's your invoice! We appreciate your prompt payment.",
            }
        },
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": False, "BillableExpenseTracking": False},
        "TimeTrackingPrefs": {
            "UseServices": False,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": tax,
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": realm.profile == "MULTI",
            "HomeCurrency": _ref(realm.home_currency),
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {
            "NameValue": [
                {"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"},
                {
                    "Name": "DateFormatMnemonic",
                    "Value": "MMDDYYYY_SEP_SLASH" if us else "DDMMYYYY_SEP_SLASH",
                },
            ]
        },
    }


def _company(realm: Realm) -> dict[str, Any]:
    us = realm.is_us
    addr = (
        {
            "Line1": "2700 Coast Ave",
            "City": "Mountain View",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94043",
            "Country": "USA",
        }
        if us
        else {"Line1": "1 Main St", "City": "Leeds", "PostalCode": "LS1 1AA", "Country": "GBR"}
    )
    name = f"Sandbox Company {realm.profile} {realm.id}"
    info = {
        "Id": "1",
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": addr,
        "LegalAddr": dict(addr),
        "CustomerCommunicationAddr": dict(addr),
        "PrimaryPhone": {"FreeFormNumber": "(650) 555-0100" if us else "0113 496 0000"},
        "CompanyStartDate": "2026-01-01",
        "Country": "US" if us else "GB",
        "Email": {"Address": "owner@example.com"},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "FiscalYearStartMonth": "January",
        "NameValue": [{"Name": "NeoEnabled", "Value": "true"}],
    }
    # One address record for all three, as in quickbooks-ruby's recorded company info.
    addr["Id"] = realm.allocate_id("PhysicalAddress")
    addresses.assign(
        realm, info, {k: {"Id": addr["Id"]} for k in addresses.COMPANY}, addresses.COMPANY
    )
    return info


def _multi(realm: Realm, now: datetime) -> None:
    for currency, rate in MULTI_RATES.items():
        realm.set_rate(currency, date(2000, 1, 1), rate)
        realm.insert(
            "Customer",
            {
                "DisplayName": f"{currency} Customer",
                "FullyQualifiedName": f"{currency} Customer",
                "CompanyName": f"{currency} Customer",
                "Active": True,
                "Taxable": True,
                "Balance": 0,
                "BalanceWithJobs": 0,
                "CurrencyRef": _ref(currency, CURRENCY_NAMES[currency]),
                "PreferredDeliveryMethod": "None",
            },
            now,
        )


def home_currency(profile: str) -> str:
    return "USD" if profile == "US" else "GBP"
