"""Realm facts the builders need, read from QBO's Preferences and CompanyInfo (pure)."""

from __future__ import annotations

from typing import Any

from qbo.invoice import Company

# CompanyInfo.Country is "US" in Intuit's samples; since late 2025 some addresses return
# alpha-3 ("USA"), so accept both.
_US = frozenset({"US", "USA"})


def company_facts(preferences: dict[str, Any], company_info: dict[str, Any]) -> Company:
    currency = preferences.get("CurrencyPrefs") or {}
    sales = preferences.get("SalesFormsPrefs") or {}
    tax = preferences.get("TaxPrefs") or {}
    country = str(company_info.get("Country") or "").upper()
    return Company(
        country="US" if country in _US else country,
        home_currency=(currency.get("HomeCurrency") or {}).get("value") or "USD",
        multi_currency_enabled=bool(currency.get("MultiCurrencyEnabled", False)),
        custom_txn_numbers=bool(sales.get("CustomTxnNumbers", False)),
        default_tax_code=(tax.get("TaxGroupCodeRef") or {}).get("value"),
    )
