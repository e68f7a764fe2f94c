"""The entity registry and the generic write path: create, full/sparse update, delete, void."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sandbox import balances, faults, namelists, payments, refs, sales
from sandbox.realm import Realm

Prepare = Callable[[Realm, dict[str, Any], dict[str, Any] | None, datetime], dict[str, Any]]
COMMON_READ_ONLY = frozenset(
    {
        "Id",
        "SyncToken",
        "MetaData",
        "domain",
        "sparse",
        "status",
        "FullyQualifiedName",
        "Balance",
        "BalanceWithJobs",
        "Level",
    }
)


@dataclass(frozen=True)
class Spec:
    name: str
    prepare: Prepare | None = None  # None: read and query only
    read_only: frozenset[str] = frozenset()
    deletable: bool = False
    transaction: bool = False


def _sales(entity: str) -> Prepare:
    return partial(sales.prepare, entity)


def _fixed(
    realm: Realm, data: dict[str, Any], old: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    # Preferences and CompanyInfo: a sparse merge of nested blocks.
    merged = copy.deepcopy(old or {})
    for key, val in data.items():
        if isinstance(val, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **val}
        else:
            merged[key] = val
    return merged


def _preferences(
    realm: Realm, data: dict[str, Any], old: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    merged = _fixed(realm, data, old, now)
    before = (old or {}).get("CurrencyPrefs", {}).get("MultiCurrencyEnabled")
    if merged.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled") != before:
        # "Multicurrency cannot be disabled once on, and cannot be enabled through the API."
        raise faults.business("Multicurrency can't be changed through the API.", "CurrencyPrefs")
    return merged


SPECS = {
    s.name: s
    for s in (
        Spec("Customer", namelists.prepare_customer),
        Spec("Item", namelists.prepare_item),
        Spec("Account", namelists.prepare_account),
        Spec("TaxCode"),
        Spec("TaxRate"),
        Spec("Invoice", _sales("Invoice"), sales.READ_ONLY, deletable=True, transaction=True),
        Spec("CreditMemo", _sales("CreditMemo"), sales.READ_ONLY, deletable=True, transaction=True),
        Spec("Payment", payments.prepare, payments.READ_ONLY, deletable=True, transaction=True),
        Spec("Preferences", _preferences),
        Spec("CompanyInfo", _fixed),
    )
}
BY_PATH = {name.lower(): spec for name, spec in SPECS.items()}


def lookup(name: str) -> Spec:
    spec = SPECS.get(name) or BY_PATH.get(name.lower())
    if spec is None:
        raise faults.QboFault("2030", "Invalid ID", f"Unsupported entity {name}")
    return spec


def _clean(spec: Spec, body: dict[str, Any]) -> dict[str, Any]:
    """Drop read-only fields and the empty strings python-quickbooks sends for unset ones."""
    drop = COMMON_READ_ONLY | spec.read_only
    if spec.prepare in (_fixed, _preferences):
        drop = frozenset({"SyncToken", "MetaData", "domain", "sparse"})
    return {k: v for k, v in body.items() if k not in drop and v != "" and v is not None}


def _writable(spec: Spec) -> Prepare:
    if spec.prepare is None:
        raise faults.unsupported(f"create/update on {spec.name}")
    return spec.prepare


def _after(
    realm: Realm, spec: Spec, old: dict[str, Any] | None, new: dict[str, Any] | None, now: datetime
) -> None:
    if spec.name == "Payment":
        payments.after_write(realm, old, new, now)
    elif spec.transaction:
        balances.refresh_customer(realm, refs.value(new or old or {}, "CustomerRef"))


def create(realm: Realm, spec: Spec, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    obj = _writable(spec)(realm, _clean(spec, body), None, now)
    stored = realm.insert(spec.name, obj, now)
    _after(realm, spec, None, stored, now)
    return stored


def _current(realm: Realm, spec: Spec, body: dict[str, Any]) -> dict[str, Any]:
    """The stored object, after the SyncToken check (stale -> 5010)."""
    current = realm.require(spec.name, body.get("Id"))
    if body.get("SyncToken") in (None, ""):
        raise faults.required("SyncToken")
    if str(body["SyncToken"]) != current["SyncToken"]:
        raise faults.stale_object(spec.name)
    return current


def update(realm: Realm, spec: Spec, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Full update replaces the writable fields; `sparse: true` merges the ones sent."""
    prepare = _writable(spec)
    current = _current(realm, spec, body)
    data = _clean(spec, body)
    if body.get("sparse") is True:
        data = {**_clean(spec, current), **data}
    obj = prepare(realm, data, current, now)
    obj.update(
        Id=current["Id"],
        SyncToken=current["SyncToken"],
        MetaData=current["MetaData"],
        domain="QBO",
        sparse=False,
    )
    stored = realm.replace(spec.name, obj, now)
    _after(realm, spec, current, stored, now)
    return stored


def delete(realm: Realm, spec: Spec, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    if not spec.deletable:
        # Name-list entities are deactivated with Active=false, never deleted.
        raise faults.unsupported(f"delete on {spec.name}")
    current = _current(realm, spec, body)
    if spec.name != "Payment" and balances.applications(realm, spec.name, current["Id"]):
        raise faults.business("This transaction has payments applied; remove them first.")
    realm.delete(spec.name, current["Id"], now)
    _after(realm, spec, current, None, now)
    return {"Id": current["Id"], "status": "Deleted", "domain": "QBO"}


def void(realm: Realm, spec: Spec, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    current = _current(realm, spec, body)
    if spec.name == "Payment":
        return payments.void(realm, current, now)
    if spec.name not in ("Invoice", "CreditMemo"):
        raise faults.unsupported(f"void on {spec.name}")
    return sales.void(realm, spec.name, current, now)


def write(
    realm: Realm,
    spec: Spec,
    body: dict[str, Any],
    operation: str | None,
    include: str | None,
    now: datetime,
) -> dict[str, Any]:
    """POST /{entity}: QBO decides create vs update by the presence of Id."""
    if operation == "delete":
        return delete(realm, spec, body, now)
    if operation == "void" or (operation == "update" and include == "void"):
        return void(realm, spec, body, now)
    if operation not in (None, "", "create", "update"):
        raise faults.unsupported(operation)
    if body.get("Id") not in (None, "", 0, "0"):
        return update(realm, spec, body, now)
    return create(realm, spec, body, now)
