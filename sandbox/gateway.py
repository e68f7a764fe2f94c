"""The raw ASGI path for `/v3/company/{realmId}/...`: auth, quotas, injected faults, requestid
replay, the API call and the request log. Kept off FastAPI's router because it is the hot path."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from sandbox import api, clock, faults
from sandbox.chaos import Rule
from sandbox.state import SandboxState

log = logging.getLogger("sandbox")
JSON = b"application/json;charset=UTF-8"
GATEWAY_HTML = b"<html><body><h1>%d Gateway Error</h1></body></html>"


class Reply:
    """What to send back: status, body bytes, extra headers, and an optional after-commit act."""

    def __init__(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, ctype: bytes = JSON
    ) -> None:
        self.status, self.body, self.headers, self.ctype = status, body, headers or {}, ctype
        self.after: Rule | None = None
        self.drop = False
        self.injected: str | None = None


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


async def read_body(receive: Any) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def abort(send: Any) -> None:
    """Close the TCP connection without an answer; uvicorn's `send` is a bound method of the
    request cycle, which owns the transport."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:
        raise ConnectionAbortedError("sandbox dropped the connection")
    cycle.disconnected = True
    transport.abort()


class Gateway:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started, arrived = time.perf_counter(), time.time()
        parts = scope["path"].split("/")[3:]  # ['', 'v3', 'company', realm, ...]
        realm_id = parts[0] if parts else ""
        call = api.Call(
            scope["method"],
            parts[1:],
            dict(parse_qsl(scope["query_string"].decode())),
            await read_body(receive),
            self.state.clock.now(),
        )
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        reply = await self.process(realm_id, call, headers)
        self._log(realm_id, call, reply, started, arrived)
        await self._respond(reply, receive, send)

    async def process(self, realm_id: str, call: api.Call, headers: dict[str, str]) -> Reply:
        try:
            self.state.tokens.check(headers.get("authorization"), realm_id)
            if realm_id not in self.state.realms:
                raise faults.forbidden(f"Unknown realm {realm_id}", self._epoch_ms())
            batch = bool(call.parts) and call.parts[0].lower() == "batch"
            if not self.state.quotas.admit(realm_id, batch):
                raise faults.throttled(self._epoch_ms())
        except faults.GatewayFault as fault:
            return Reply(fault.status, dumps(fault.body), fault.headers)
        try:
            return await self._admitted(realm_id, call)
        finally:
            self.state.quotas.release(realm_id)

    async def _admitted(self, realm_id: str, call: api.Call) -> Reply:
        entity = call.parts[0] if call.parts else ""
        rule = self.state.chaos.pick(realm_id, call.method, entity)
        delay = self.state.chaos.latency(realm_id)
        if delay:
            await asyncio.sleep(delay)
        if rule is not None and rule.kind in ("error", "throttle", "drop"):
            return self._injected(rule)
        # Stamp the write when it happens, not when it arrived: a slow request must not get a
        # LastUpdatedTime earlier than a quicker one that committed before it (CDC watermarks).
        call.now = self.state.clock.now()
        reply = self._execute(realm_id, call)
        reply.after = rule
        return reply

    def _injected(self, rule: Rule) -> Reply:
        reply = self._injected_reply(rule)
        reply.injected = rule.kind if rule.kind != "error" else f"error{rule.status}"
        return reply

    def _injected_reply(self, rule: Rule) -> Reply:
        if rule.kind == "throttle":
            fault = faults.throttled(self._epoch_ms())
            wait = {} if rule.retry_after is None else {"retry-after": str(rule.retry_after)}
            return Reply(429, dumps(fault.body), wait)
        if rule.kind == "drop":
            reply = Reply(0, b"")
            reply.drop = True
            return reply
        if rule.status == 500:
            return Reply(500, dumps(self._fault_body(faults.system_fault())))
        # 502/503/504 come from Intuit's gateway as HTML, not JSON.
        return Reply(rule.status, GATEWAY_HTML % rule.status, ctype=b"text/html")

    def _execute(self, realm_id: str, call: api.Call) -> Reply:
        realm = self.state.realms[realm_id]
        request_id = call.params.get("requestid")
        if request_id and request_id in realm.request_ids:
            # The same requestid answers with the original response; nothing runs twice.
            status, body = realm.request_ids[request_id]
            reply = Reply(status, body)
            reply.headers["x-sandbox-replayed"] = "true"
            return reply
        reply = self._run(realm_id, call)
        if request_id:
            realm.remember(request_id, reply.status, reply.body, self.state.config.requestid_memory)
        return reply

    def _run(self, realm_id: str, call: api.Call) -> Reply:
        try:
            return Reply(200, dumps(api.handle(self.state.realms[realm_id], call)))
        except faults.QboFault as fault:
            return self._fault_reply(call, fault)
        except ValueError as exc:
            # Unparseable numbers and dates in the request: QBO answers with a 400, not a 500.
            return self._fault_reply(call, faults.invalid("body", str(exc)))
        except Exception:
            log.exception("sandbox: unexpected error on %s %s", call.method, call.parts)
            return Reply(500, dumps(self._fault_body(faults.system_fault())))

    def _fault_reply(self, call: api.Call, fault: faults.QboFault) -> Reply:
        call.fault_code = fault.code
        return Reply(fault.status, dumps(self._fault_body(fault)))

    def _fault_body(self, fault: faults.QboFault) -> dict[str, Any]:
        return {"Fault": fault.fault(), "time": clock.response_time(self.state.clock.now())}

    def _epoch_ms(self) -> int:
        return int(self.state.clock.timestamp() * 1000)

    async def _respond(self, reply: Reply, receive: Any, send: Any) -> None:
        rule = reply.after
        if reply.drop or (rule is not None and rule.kind == "commit_drop"):
            abort(send)
            return
        if rule is not None and rule.kind == "commit_hold":
            # Committed; the answer never comes: held past the client's read timeout (or until
            # the client gives up and disconnects), then the connection is dropped.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_disconnected(receive), rule.hold_seconds)
            abort(send)
            return
        headers = [
            (b"content-type", reply.ctype),
            (b"intuit_tid", secrets.token_hex(16).encode()),
            (b"content-length", str(len(reply.body)).encode()),
        ]
        headers += [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    def _log(
        self, realm_id: str, call: api.Call, reply: Reply, started: float, arrived: float
    ) -> None:
        """`time` is when the answer was ready, `started` when the request arrived (what the
        quotas count), `ms` the time in between (latency included)."""
        injected = reply.injected or (reply.after.kind if reply.after else None)
        self.state.log.add(
            realm_id,
            call.method,
            "/" + "/".join(call.parts),
            call.entity or (call.parts[0] if call.parts else ""),
            call.operation,
            reply.status,
            fault=call.fault_code,
            requestid=call.params.get("requestid"),
            replayed="x-sandbox-replayed" in reply.headers,
            injected=injected,
            ms=round((time.perf_counter() - started) * 1000, 2),
            started=arrived,
            items=_batch_items(call, reply),
        )


def _batch_items(call: api.Call, reply: Reply) -> list[str] | None:
    """For a /batch answered 200: "Entity.operation" of each item that was carried out (no
    Fault), so tests can count creates made through a batch like single ones."""
    if not call.parts or call.parts[0] != "batch" or reply.status != 200:
        return None
    try:
        asked = {i.get("bId"): i for i in json.loads(call.body).get("BatchItemRequest") or []}
        answered = json.loads(reply.body).get("BatchItemResponse") or []
    except (ValueError, AttributeError):
        return None
    done = []
    for item in answered:
        request = asked.get(item.get("bId")) or {}
        entity = next((k for k in item if k not in ("bId", "Fault", "QueryResponse")), None)
        if entity is not None:
            operation = request.get("operation", "create")
            done.append(f"{entity}.{'void' if request.get('optionsData') == 'void' else operation}")
    return done
