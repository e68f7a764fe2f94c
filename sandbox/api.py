"""The Accounting API v3 surface: `/v3/company/{realmId}/...` dispatched to the model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox import (
    changes,
    clock,
    entities,
    evaluate,
    faults,
    money,
    query,
    rates,
    sales,
    taxservice,
)
from sandbox.realm import Realm

MAX_BATCH = 30


@dataclass
class Call:
    """One API call, already authenticated and admitted."""

    method: str
    parts: list[str]
    params: dict[str, str]
    body: bytes
    now: datetime
    entity: str = ""
    operation: str = ""
    fault_code: str | None = None


def wrap(name: str, obj: Any, now: datetime) -> dict[str, Any]:
    return {name: money.jsonable(obj), "time": clock.response_time(now)}


def json_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise faults.QboFault(
            "2010", "Request has invalid or unsupported property", "Request body is not valid JSON"
        ) from exc
    if not isinstance(data, dict):
        raise faults.invalid("body", "Request body must be an object")
    return data


def run_query(realm: Realm, text: str, call: Call | None = None) -> dict[str, Any]:
    parsed = query.parse(text)
    if parsed.entity.casefold() == "exchangerate":
        name, objects = "ExchangeRate", rates.query_rows(realm, parsed, realm.clock.now())
    else:
        name = entities.lookup(parsed.entity).name
        objects = list(realm.table(name).values())
    if call is not None:
        call.entity, call.operation = name, "count" if parsed.count else "query"
    rows = evaluate.select(parsed, name, objects)
    return money.jsonable(evaluate.page(parsed, name, rows))


def handle(realm: Realm, call: Call) -> dict[str, Any]:
    """Route one call; returns the JSON body of a 200 response or raises QboFault."""
    head = call.parts[0].lower() if call.parts else ""
    now = call.now
    if head == "query":
        text = call.params.get("query") or call.body.decode("utf-8", "replace")
        call.operation = "query"
        return {"QueryResponse": run_query(realm, text, call), "time": clock.response_time(now)}
    call.operation = head
    if head == "cdc":
        return {
            **money.jsonable(changes.cdc(realm, call.params, now)),
            "time": clock.response_time(now),
        }
    if head == "batch" and call.method == "POST":
        return batch(realm, json_body(call.body), now)
    if head == "exchangerate":
        body = json_body(call.body) if call.method == "POST" else {}
        return wrap("ExchangeRate", rates.endpoint(realm, call.method, call.params, body, now), now)
    if head == "taxservice":
        return taxservice.create(realm, json_body(call.body), now)
    return entity_call(realm, call, head)


def entity_call(realm: Realm, call: Call, head: str) -> dict[str, Any]:
    spec = entities.lookup(head)
    rest, now = call.parts[1:], call.now
    call.entity, call.operation = spec.name, "read"
    if call.method == "GET":
        if spec.name not in ("Preferences", "CompanyInfo") and len(rest) != 1:
            raise faults.unsupported(f"GET /{'/'.join(call.parts)}")
        ident = "1" if spec.name in ("Preferences", "CompanyInfo") else rest[0]
        return wrap(spec.name, realm.require(spec.name, ident), now)
    if len(rest) == 2 and rest[1] == "send" and spec.name == "Invoice":
        call.operation = "send"
        current = realm.require("Invoice", rest[0])
        return wrap("Invoice", sales.send(realm, current, call.params.get("sendTo"), now), now)
    if rest:
        raise faults.unsupported(f"POST /{'/'.join(call.parts)}")
    body = json_body(call.body)
    if spec.name in ("Preferences", "CompanyInfo"):
        body["Id"] = "1"
    call.operation = _operation(call.params, body)
    obj = entities.write(
        realm, spec, body, call.params.get("operation"), call.params.get("include"), now
    )
    return wrap(spec.name, obj, now)


def _operation(params: dict[str, str], body: dict[str, Any]) -> str:
    op = params.get("operation") or ""
    if op == "delete" or op == "void":
        return op
    if params.get("include") == "void":
        return "void"
    return "update" if body.get("Id") not in (None, "", 0, "0") else "create"


def batch(realm: Realm, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Items run serially; a failing item answers with its own Fault inside an HTTP 200."""
    items = body.get("BatchItemRequest") or []
    if len(items) > MAX_BATCH:
        raise faults.QboFault(
            "1040",
            "Batch size exceeded",
            f"Batch size {len(items)} exceeds the limit of {MAX_BATCH}",
        )
    return {
        "BatchItemResponse": [_batch_item(realm, item, now) for item in items],
        "time": clock.response_time(now),
    }


def _batch_item(realm: Realm, item: dict[str, Any], now: datetime) -> dict[str, Any]:
    bid = item.get("bId")
    try:
        if "Query" in item:
            return {"bId": bid, "QueryResponse": run_query(realm, item["Query"])}
        name = next(k for k in item if k in entities.SPECS)
        spec = entities.lookup(name)
        operation = item.get("operation", "create")
        if item.get("optionsData") == "void" or operation == "void":
            operation = "void"
        obj = entities.write(realm, spec, dict(item[name]), operation, None, now)
        return {"bId": bid, name: money.jsonable(obj)}
    except StopIteration:
        fault = faults.invalid("BatchItemRequest", "no entity in batch item")
        return {"bId": bid, "Fault": fault.fault()}
    except faults.QboFault as fault:
        return {"bId": bid, "Fault": fault.fault()}
    except ValueError as exc:
        return {"bId": bid, "Fault": faults.invalid("body", str(exc)).fault()}
