"""`POST /taxservice/taxcode`: the only way to create a TaxCode (and its TaxRates) via the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox import clock, faults, money
from sandbox.realm import Realm


def _rate(realm: Realm, detail: dict[str, Any], now: datetime) -> dict[str, Any]:
    name = detail.get("TaxRateName")
    if not name:
        raise faults.required("TaxRateName")
    if any(r["Name"].casefold() == str(name).casefold() for r in realm.table("TaxRate").values()):
        raise faults.duplicate_name("tax rate")
    value = money.dec(detail.get("RateValue", 0))
    return realm.insert(
        "TaxRate",
        {
            "Name": name,
            "Description": name,
            "Active": True,
            "RateValue": value,
            "AgencyRef": {"value": str(detail.get("TaxAgencyId", "1"))},
            "DisplayType": "ReadOnly",
        },
        now,
    )


def create(realm: Realm, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    name = body.get("TaxCode")
    if not name:
        raise faults.required("TaxCode")
    if len(str(name)) > 10:
        raise faults.string_length("TaxCode", 10, len(str(name)))
    if any(c["Name"].casefold() == str(name).casefold() for c in realm.table("TaxCode").values()):
        raise faults.duplicate_name("tax code")
    details = body.get("TaxRateDetails") or []
    rates = [_rate(realm, d, now) for d in details]
    rows = [
        {"TaxRateRef": {"value": r["Id"]}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}
        for r in rates
    ]
    code = realm.insert(
        "TaxCode",
        {
            "Name": name,
            "Description": name,
            "Active": True,
            "Hidden": False,
            "Taxable": True,
            "TaxGroup": len(rates) > 1,
            "SalesTaxRateList": {"TaxRateDetail": rows},
            "PurchaseTaxRateList": {"TaxRateDetail": []},
        },
        now,
    )
    answer = [{**d, "TaxRateId": r["Id"]} for d, r in zip(details, rates, strict=True)]
    return {
        "TaxCode": name,
        "TaxCodeId": code["Id"],
        "TaxRateDetails": answer,
        "time": clock.response_time(now),
    }
