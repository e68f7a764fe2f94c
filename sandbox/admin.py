"""`/_sandbox/`: the control surface for tests, demos and benchmarks."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from sandbox import money
from sandbox.chaos import FaultSettings, Rule
from sandbox.config import Quotas
from sandbox.realm import Realm
from sandbox.state import SandboxState
from sandbox.webhooks import WebhookSettings


class RealmIn(BaseModel):
    profile: str = "US"
    realm_id: str | None = None
    custom_txn_numbers: bool = True
    enforce_unique_doc_number: bool = True


class TokenIn(BaseModel):
    ttl: int | None = None


class RateIn(BaseModel):
    currency: str
    rate: Decimal
    as_of: date | None = None


class SettingsIn(BaseModel):
    enforce_unique_doc_number: bool | None = None


class Seconds(BaseModel):
    seconds: float


class Times(BaseModel):
    times: int = 1


def _realm(state: SandboxState, realm_id: str) -> Realm:
    realm = state.realms.get(realm_id)
    if realm is None:
        raise HTTPException(404, f"no realm {realm_id}")
    return realm


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def router(state: SandboxState) -> APIRouter:
    r = APIRouter(tags=["sandbox"])
    _realm_routes(r, state)
    _control_routes(r, state)
    _webhook_routes(r, state)
    return r


def _realm_routes(r: APIRouter, state: SandboxState) -> None:
    @r.post("/realms")
    async def create_realm(body: RealmIn) -> dict[str, Any]:
        try:
            realm = state.create_realm(
                body.profile, body.realm_id, body.custom_txn_numbers, body.enforce_unique_doc_number
            )
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return state.describe(realm)

    @r.get("/realms")
    async def realms() -> list[dict[str, Any]]:
        return [state.describe(realm) for realm in state.realms.values()]

    @r.post("/realms/{realm_id}/token")
    async def token(realm_id: str, body: TokenIn | None = None) -> dict[str, Any]:
        """Mint a valid access + refresh token for a realm without the consent dance."""
        _realm(state, realm_id)
        return state.tokens.mint(realm_id, (body or TokenIn()).ttl)

    @r.get("/realms/{realm_id}/objects/{entity}")
    async def objects(realm_id: str, entity: str) -> dict[str, Any]:
        realm = _realm(state, realm_id)
        return {
            "objects": money.jsonable(list(realm.table(entity).values())),
            "deleted": list(realm.tombstones.get(entity, {}).values()),
        }

    @r.post("/realms/{realm_id}/exchangerates")
    async def set_rate(realm_id: str, body: RateIn) -> dict[str, Any]:
        realm = _realm(state, realm_id)
        realm.set_rate(body.currency, body.as_of or state.clock.now().date(), body.rate)
        return {"currency": body.currency, "rate": float(body.rate)}

    @r.put("/realms/{realm_id}/quotas")
    async def set_quotas(realm_id: str, body: Quotas) -> dict[str, Any]:
        _realm(state, realm_id)
        state.quotas.overrides[realm_id] = body
        return body.model_dump()

    @r.patch("/realms/{realm_id}/preferences")
    async def set_preferences(realm_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Deep-merge into Preferences (a write: SyncToken increments)."""
        realm = _realm(state, realm_id)
        prefs = copy.deepcopy(realm.preferences)
        _merge(prefs, body)
        return money.jsonable(realm.replace("Preferences", prefs, state.clock.now()))

    @r.patch("/realms/{realm_id}/settings")
    async def settings(realm_id: str, body: SettingsIn) -> dict[str, Any]:
        realm = _realm(state, realm_id)
        if body.enforce_unique_doc_number is not None:
            realm.enforce_unique_doc_number = body.enforce_unique_doc_number
        return state.describe(realm)

    @r.get("/realms/{realm_id}/emails")
    async def emails(realm_id: str) -> list[dict[str, Any]]:
        return _realm(state, realm_id).emails


def _control_routes(r: APIRouter, state: SandboxState) -> None:
    @r.get("/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "realms": len(state.realms)}

    @r.post("/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return {"ok": True}

    @r.get("/requests")
    async def requests(
        realm: str | None = None,
        entity: str | None = None,
        method: str | None = None,
        since: int = 0,
    ) -> dict[str, Any]:
        rows = state.log.query(realm, entity, method, since)
        return {"requests": rows, "count": len(rows), "last_seq": state.log.seq}

    @r.delete("/requests")
    async def clear_requests() -> dict[str, Any]:
        state.log.clear()
        return {"ok": True}

    @r.get("/stats")
    async def stats(realm: str | None = None) -> dict[str, Any]:
        return {
            **state.log.stats(realm),
            "inflight": state.quotas.inflight(),
            "faults_fired": state.chaos.fired,
        }

    @r.get("/faults")
    async def get_faults() -> FaultSettings:
        return state.chaos.settings

    @r.put("/faults")
    async def put_faults(body: FaultSettings) -> FaultSettings:
        state.chaos.install(body)
        return state.chaos.settings

    @r.post("/faults/rules")
    async def add_rule(rule: Rule) -> FaultSettings:
        state.chaos.add(rule)
        return state.chaos.settings

    @r.delete("/faults")
    async def clear_faults() -> FaultSettings:
        state.chaos.reset()
        return state.chaos.settings

    @r.get("/clock")
    async def get_clock() -> dict[str, Any]:
        return {"now": state.clock.now().isoformat(), "offset_seconds": state.clock.offset}

    @r.post("/clock/advance")
    async def advance(body: Seconds) -> dict[str, Any]:
        state.clock.advance(body.seconds)
        return {"now": state.clock.now().isoformat(), "offset_seconds": state.clock.offset}


def _webhook_routes(r: APIRouter, state: SandboxState) -> None:
    hooks = state.webhooks

    @r.get("/webhooks")
    async def get_webhooks() -> WebhookSettings:
        return hooks.settings

    @r.put("/webhooks")
    async def put_webhooks(body: dict[str, Any]) -> WebhookSettings:
        hooks.settings = WebhookSettings(**{**hooks.settings.model_dump(), **body})
        return hooks.settings

    @r.post("/webhooks/flush")
    async def flush() -> dict[str, Any]:
        return {"events": hooks.flush()}

    @r.post("/webhooks/redeliver")
    async def redeliver(body: Times) -> dict[str, Any]:
        return {"queued": hooks.redeliver(body.times)}

    @r.get("/webhooks/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        return hooks.deliveries

    @r.get("/webhooks/events")
    async def events() -> list[dict[str, Any]]:
        return hooks.events
