"""Open balances: payments linked to invoices and credit memos, and the customer's Balance."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox import faults, money
from sandbox.realm import Realm


def applications(realm: Realm, entity: str, ident: str) -> list[tuple[str, Decimal]]:
    """(payment Id, amount) for every payment line linking this document."""
    found = []
    for payment_id in sorted(realm.indexes.links.get((entity, ident), ()), key=int):
        payment = realm.require("Payment", payment_id)
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnId") == ident and link.get("TxnType") == entity:
                    found.append((payment["Id"], line["Amount"]))
    return found


def set_open(realm: Realm, entity: str, obj: dict[str, Any], ident: str | None) -> None:
    """Balance = TotalAmt - applied payments; CreditMemo: RemainingCredit likewise."""
    apps = applications(realm, entity, ident) if ident else []
    applied = sum((amount for _, amount in apps), money.ZERO)
    open_amount = obj["TotalAmt"] - applied
    if open_amount < 0:
        raise faults.business("The transaction total is less than the payments applied to it.")
    obj["Balance"] = open_amount
    if entity == "CreditMemo":
        obj["RemainingCredit"] = open_amount
    else:
        obj["LinkedTxn"] = [{"TxnId": pid, "TxnType": "Payment"} for pid, _ in apps]
    if "ExchangeRate" in obj:
        obj["HomeBalance"] = money.round2(open_amount * obj["ExchangeRate"])


def refresh(realm: Realm, entity: str, ident: str, now: datetime) -> None:
    """Recompute after a payment changed; a changed document gets a new SyncToken."""
    current = realm.get(entity, ident)
    if current is None or (entity, ident) in realm.voided:
        return
    new = copy.deepcopy(current)
    set_open(realm, entity, new, ident)
    if new != current:
        realm.replace(entity, new, now)


def refresh_customer(realm: Realm, customer_id: str | None) -> None:
    """Customer.Balance is derived; QBO changes it without a new SyncToken."""
    customer = realm.get("Customer", customer_id) if customer_id else None
    if customer is None:
        return
    owed = money.ZERO
    for entity, ident in realm.indexes.by_customer.get(customer["Id"], ()):
        obj = realm.require(entity, ident)
        if entity == "Payment":
            owed -= obj.get("UnappliedAmt", money.ZERO)
        else:
            owed += obj["Balance"] if entity == "Invoice" else -obj["Balance"]
    customer["Balance"] = customer["BalanceWithJobs"] = owed
