"""One QBO company: its objects, tombstones, preferences, exchange rates and idempotency memory."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox import clock, faults
from sandbox.indexes import Indexes

Change = tuple[str, str, str, str, str]  # realm, entity, id, operation, lastUpdated
Listener = Callable[[str, str, str, str, str], None]


@dataclass
class Realm:
    id: str
    profile: str
    home_currency: str
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    voided: set[tuple[str, str]] = field(default_factory=set)
    rates: dict[str, dict[date, Decimal]] = field(default_factory=dict)
    enforce_unique_doc_number: bool = True
    request_ids: OrderedDict[str, tuple[int, bytes]] = field(default_factory=OrderedDict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    listener: Listener | None = None
    clock: clock.Clock = field(default_factory=clock.Clock)
    indexes: Indexes = field(default_factory=Indexes)

    # -- reading ----------------------------------------------------------------------------
    def table(self, entity: str) -> dict[str, dict[str, Any]]:
        return self.objects.setdefault(entity, {})

    def get(self, entity: str, ident: Any) -> dict[str, Any] | None:
        return self.table(entity).get(str(ident))

    def require(self, entity: str, ident: Any) -> dict[str, Any]:
        found = self.get(entity, ident)
        if found is None:
            raise faults.not_found_object(entity, str(ident))
        return found

    # -- writing ----------------------------------------------------------------------------
    def allocate_id(self, entity: str) -> str:
        value = self.next_ids.get(entity, 1)
        self.next_ids[entity] = value + 1
        return str(value)

    def insert(self, entity: str, obj: dict[str, Any], now: datetime) -> dict[str, Any]:
        stamp = clock.meta_time(now)
        obj["Id"] = str(obj.get("Id") or self.allocate_id(entity))
        if obj["Id"].isdigit():
            self.next_ids[entity] = max(self.next_ids.get(entity, 1), int(obj["Id"]) + 1)
        obj.update(
            SyncToken="0",
            domain="QBO",
            sparse=False,
            MetaData={"CreateTime": stamp, "LastUpdatedTime": stamp},
        )
        self.table(entity)[obj["Id"]] = obj
        self.indexes.update(entity, None, obj)
        self.notify(entity, obj["Id"], "Create", stamp)
        return obj

    def replace(
        self, entity: str, obj: dict[str, Any], now: datetime, operation: str = "Update"
    ) -> dict[str, Any]:
        """Store a new version: SyncToken increments on every write, as in QBO."""
        stamp = clock.meta_time(now)
        obj["SyncToken"] = str(int(obj["SyncToken"]) + 1)
        obj["MetaData"] = {**obj["MetaData"], "LastUpdatedTime": stamp}
        old = self.table(entity).get(obj["Id"])
        # Callers pass a new dict; an in-place edit would leave nothing to unindex.
        self.indexes.update(entity, old if old is not obj else None, obj)
        self.table(entity)[obj["Id"]] = obj
        self.notify(entity, obj["Id"], operation, stamp)
        return obj

    def delete(self, entity: str, ident: str, now: datetime) -> dict[str, Any]:
        obj = self.table(entity).pop(ident)
        self.indexes.update(entity, obj, None)
        stamp = clock.meta_time(now)
        # CDC reports deletions as {"Id", "status": "Deleted"} (Intuit's XSD `status` attribute).
        tomb = {
            "Id": ident,
            "status": "Deleted",
            "domain": "QBO",
            "MetaData": {"LastUpdatedTime": stamp},
        }
        self.tombstones.setdefault(entity, {})[ident] = tomb
        self.notify(entity, ident, "Delete", stamp)
        return obj

    def notify(self, entity: str, ident: str, operation: str, stamp: str) -> None:
        if self.listener is not None:
            self.listener(self.id, entity, ident, operation, stamp)

    def snapshot(self, entity: str, ident: str) -> dict[str, Any]:
        return copy.deepcopy(self.require(entity, ident))

    # -- idempotency ------------------------------------------------------------------------
    def remember(self, request_id: str, status: int, body: bytes, limit: int) -> None:
        self.request_ids[request_id] = (status, body)
        while len(self.request_ids) > limit:
            self.request_ids.popitem(last=False)

    # -- exchange rates ---------------------------------------------------------------------
    def rate(self, currency: str, as_of: date | None) -> Decimal | None:
        """Home units per 1 foreign unit (Intuit's XSD, Transaction.ExchangeRate), latest on or
        before."""
        if currency == self.home_currency:
            return Decimal(1)
        table = self.rates.get(currency, {})
        eligible = [d for d in table if as_of is None or d <= as_of]
        return table[max(eligible)] if eligible else None

    def set_rate(self, currency: str, as_of: date, rate: Decimal) -> None:
        self.rates.setdefault(currency, {})[as_of] = rate

    @property
    def preferences(self) -> dict[str, Any]:
        return self.table("Preferences")["1"]

    @property
    def multicurrency(self) -> bool:
        return bool(self.preferences["CurrencyPrefs"]["MultiCurrencyEnabled"])

    @property
    def custom_txn_numbers(self) -> bool:
        return bool(self.preferences["SalesFormsPrefs"]["CustomTxnNumbers"])

    @property
    def is_us(self) -> bool:
        return self.profile == "US"
