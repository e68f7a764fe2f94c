"""ExchangeRate: `GET/POST /exchangerate` and `SELECT * FROM ExchangeRate [WHERE ...]`.

Rate = home-currency units per 1 unit of SourceCurrencyCode (Intuit's XSD,
Transaction.ExchangeRate).
Available only when multi-currency is on.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sandbox import clock, faults, money
from sandbox.query import Query
from sandbox.realm import Realm


def _require_multicurrency(realm: Realm) -> None:
    if not realm.multicurrency:
        raise faults.business("Multicurrency is not enabled for this company.")


def _day(raw: Any, fallback: date) -> date:
    if not raw:
        return fallback
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError as exc:
        raise faults.invalid("AsOfDate", f"AsOfDate {raw} is not a date") from exc


def rate_object(realm: Realm, source: str, on: date, now: datetime) -> dict[str, Any]:
    rate = realm.rate(source, on)
    if rate is None:
        raise faults.not_found("ExchangeRate", source, "SourceCurrencyCode")
    return {
        "SourceCurrencyCode": source,
        "TargetCurrencyCode": realm.home_currency,
        "Rate": rate,
        "AsOfDate": on.isoformat(),
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": {"LastUpdatedTime": clock.meta_time(now)},
    }


def endpoint(
    realm: Realm, method: str, params: dict[str, str], body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """GET ?sourcecurrencycode=EUR&asofdate=YYYY-MM-DD; POST sets a rate (UpdateNoIdMixin)."""
    _require_multicurrency(realm)
    source, on = params.get("sourcecurrencycode"), _day(params.get("asofdate"), now.date())
    if method == "POST":
        source, on = body.get("SourceCurrencyCode"), _day(body.get("AsOfDate"), now.date())
        if source:
            realm.set_rate(str(source), on, money.dec(body.get("Rate")))
    if not source:
        raise faults.required("sourcecurrencycode")
    return rate_object(realm, str(source), on, now)


def query_rows(realm: Realm, parsed: Query, now: datetime) -> list[dict[str, Any]]:
    """One row per foreign currency, at the AsOfDate the WHERE asks for (default today)."""
    _require_multicurrency(realm)
    wanted = next(
        (v for n, op, v in parsed.where if n.casefold() == "asofdate" and op == "="), None
    )
    on = _day(wanted, now.date())
    return [
        rate_object(realm, cur, on, now)
        for cur in sorted(realm.rates)
        if realm.rate(cur, on) is not None
    ]
