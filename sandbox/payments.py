"""Payment: Line.LinkedTxn applies money to invoices (and credit memos) and lowers Balance."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox import balances, faults, money, refs
from sandbox.profiles import CURRENCY_NAMES
from sandbox.realm import Realm
from sandbox.sales import currency_and_rate, txn_date

READ_ONLY = frozenset({"UnappliedAmt"})
LINKABLE = ("Invoice", "CreditMemo")


def _deposit_account(realm: Realm, data: dict[str, Any]) -> dict[str, str]:
    # "If DepositToAccountRef is missing, Undeposited Funds is used." QBO answers this ref
    # without a name (Intuit's sample payment, quickbooks-ruby's recorded CDC payment).
    chosen = refs.optional(realm, data, "DepositToAccountRef", "Account")
    if chosen is None:
        chosen = next(
            a
            for a in realm.table("Account").values()
            if a.get("AccountSubType") == "UndepositedFunds"
        )
    return {"value": chosen["Id"]}


def _name_value(name: str, value: str) -> dict[str, Any]:
    # JSON rendering of a JAXB NameValue, exactly as Intuit's sample payment shows it.
    return {
        "name": "{http://schema.intuit.com/finance/v3}NameValue",
        "declaredType": "com.intuit.schema.finance.v3.NameValue",
        "scope": "javax.xml.bind.JAXBElement$GlobalScope",
        "value": {"Name": name, "Value": value},
        "nil": False,
        "globalScope": True,
        "typeSubstituted": False,
    }


def _line_ex(realm: Realm, link: dict[str, Any], open_before: Decimal) -> dict[str, Any]:
    """LineEx of a linked payment line: the document, its open balance before this payment
    and its number (Intuit's sample payment; quickbooks-ruby's recorded CDC payment)."""
    pairs = [
        _name_value("txnId", link["TxnId"]),
        _name_value("txnOpenBalance", f"{open_before:.2f}"),
    ]
    number = (realm.get(link["TxnType"], link["TxnId"]) or {}).get("DocNumber")
    if number:
        pairs.append(_name_value("txnReferenceNumber", str(number)))
    return {"any": pairs}


def _open_for(
    realm: Realm, link: dict[str, Any], customer_id: str, old: dict[str, Any] | None
) -> Decimal:
    kind, ident = link.get("TxnType"), str(link.get("TxnId", ""))
    if kind not in LINKABLE:
        raise faults.invalid("TxnType", f"TxnType {kind} cannot be linked to a Payment")
    target = realm.get(kind, ident)
    if target is None or (kind, ident) in realm.voided:
        raise faults.not_found(kind, f"Id={ident}", "LinkedTxn")
    if refs.value(target, "CustomerRef") != customer_id:
        raise faults.business(f"{kind} {ident} belongs to another customer.", "LinkedTxn")
    mine = sum(
        (
            amt
            for pid, amt in balances.applications(realm, kind, ident)
            if old is not None and pid == old["Id"]
        ),
        money.ZERO,
    )
    return target["Balance"] + mine


def _lines(
    realm: Realm, raw: Any, customer_id: str, old: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
    out, applied, credits = [], money.ZERO, money.ZERO
    for line in raw or []:
        amount = money.round2(money.dec(line.get("Amount", 0) or 0))
        links = [
            {"TxnId": str(lt.get("TxnId")), "TxnType": lt.get("TxnType")}
            for lt in line.get("LinkedTxn", [])
        ]
        extra: dict[str, Any] = {}
        for link in links:
            open_before = _open_for(realm, link, customer_id, old)
            if amount > open_before:
                raise faults.business(
                    f"The payment amount {amount} is more than the open "
                    f"balance of {link['TxnType']} {link['TxnId']}.",
                    "Line",
                )
            if link["TxnType"] == "Invoice":
                applied += amount
            else:
                credits += amount
            extra = {"LineEx": _line_ex(realm, link, open_before)}
        sent = {k: v for k, v in line.items() if k != "LineEx"}  # recomputed, never taken
        out.append({**sent, "Amount": amount, "LinkedTxn": links, **extra})
    return out, applied, credits


def prepare(
    realm: Realm, data: dict[str, Any], old: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    if old is not None and ("Payment", old["Id"]) in realm.voided:
        raise faults.business("This transaction has been voided and can't be changed.")
    customer = refs.required(realm, data, "CustomerRef", "Customer")
    if data.get("TotalAmt") in (None, ""):
        raise faults.required("TotalAmt")
    total = money.round2(money.dec(data["TotalAmt"]))
    on = txn_date(data, "TxnDate", now)
    currency, rate = currency_and_rate(realm, data, customer, on)
    out, applied, credits = _lines(realm, data.get("Line"), customer["Id"], old)
    unapplied = total + credits - applied
    if unapplied < 0:
        raise faults.business("The amount applied is greater than the payment amount.", "Line")
    obj = {
        **data,
        "CustomerRef": refs.named("Customer", customer),
        "TotalAmt": total,
        "UnappliedAmt": unapplied,
        "Line": out,
        "TxnDate": on.isoformat(),
        "DepositToAccountRef": _deposit_account(realm, data),
        "ProcessPayment": False,
        "CurrencyRef": {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)},
    }
    if realm.multicurrency:
        obj["ExchangeRate"] = rate
    return obj


def linked(obj: dict[str, Any] | None) -> set[tuple[str, str]]:
    if obj is None:
        return set()
    return {
        (lt["TxnType"], lt["TxnId"]) for ln in obj.get("Line", []) for lt in ln.get("LinkedTxn", [])
    }


def after_write(
    realm: Realm, old: dict[str, Any] | None, new: dict[str, Any] | None, now: datetime
) -> None:
    """Re-open or settle every document the old and the new version touched."""
    for entity, ident in sorted(linked(old) | linked(new)):
        balances.refresh(realm, entity, ident, now)
    for obj in (old, new):
        if obj is not None:
            balances.refresh_customer(realm, refs.value(obj, "CustomerRef"))


def void(realm: Realm, obj: dict[str, Any], now: datetime) -> dict[str, Any]:
    """`operation=update&include=void`: amounts to zero, links released."""
    new = copy.deepcopy(obj)
    for line in new["Line"]:
        line["Amount"] = money.ZERO
    new.update(TotalAmt=money.ZERO, UnappliedAmt=money.ZERO, PrivateNote="Voided")
    realm.voided.add(("Payment", obj["Id"]))
    stored = realm.replace("Payment", new, now, operation="Void")
    after_write(realm, obj, stored, now)
    return stored
