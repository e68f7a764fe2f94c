"""Change Data Capture: `GET /cdc?entities=A,B&changedSince=ISO`, 30-day look-back, 1000 max."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sandbox import clock, entities, faults
from sandbox.realm import Realm

WINDOW = timedelta(days=30)
MAX_OBJECTS = 1000


def _changed_since(raw: str | None, now: datetime) -> datetime:
    if not raw:
        raise faults.required("changedSince")
    try:
        since = clock.parse_time(raw)
    except ValueError as exc:
        raise faults.invalid("changedSince", "changedSince is not an ISO-8601 date") from exc
    if since < now - WINDOW:
        raise faults.QboFault(
            "4001",
            "Invalid query",
            "QueryValidationError: changedSince must be within the last 30 days",
            element="changedSince",
        )
    return since


def _changed(realm: Realm, entity: str, since: datetime) -> list[dict[str, Any]]:
    live = list(realm.table(entity).values())
    gone = list(realm.tombstones.get(entity, {}).values())
    rows = [o for o in live + gone if clock.parse_time(o["MetaData"]["LastUpdatedTime"]) >= since]
    rows.sort(key=lambda o: clock.parse_time(o["MetaData"]["LastUpdatedTime"]))
    return rows


def cdc(realm: Realm, params: dict[str, str], now: datetime) -> dict[str, Any]:
    names = [n.strip() for n in params.get("entities", "").split(",") if n.strip()]
    if not names:
        raise faults.required("entities")
    since = _changed_since(params.get("changedSince"), now)
    budget, blocks = MAX_OBJECTS, []
    for name in names:
        spec = entities.lookup(name)
        rows = _changed(realm, spec.name, since)[:budget]
        budget -= len(rows)
        block: dict[str, Any] = {
            "startPosition": 1,
            "maxResults": len(rows),
            "totalCount": len(rows),
        }
        if rows:
            block[spec.name] = rows
        blocks.append(block)
    return {"CDCResponse": [{"QueryResponse": blocks}]}
