"""`/healthz` (the process answers) and `/readyz` (its dependencies answer), for an
orchestrator's liveness and readiness probes.

Readiness runs each check (PostgreSQL, Kafka: given by the composition root) with its own
timeout; a failing one makes it 503 and says which, without the exception's details (they may
name hosts or users).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

__all__ = ["Check", "readiness", "router"]

log = logging.getLogger(__name__)

# A readiness check: returns when the dependency answers, raises when it does not.
Check = Callable[[], None]


def readiness(checks: Mapping[str, Check]) -> tuple[bool, dict[str, str]]:
    """(ready, name → "ok" | "unavailable") after running every check."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            log.warning("readiness: %s is unavailable: %s", name, exc)
            results[name] = "unavailable"
    return all(v == "ok" for v in results.values()), results


class Alive(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str = Field(description="ready | unavailable")
    checks: dict[str, str] = Field(description='dependency → "ok" | "unavailable"')


def router(checks: Mapping[str, Check]) -> APIRouter:
    r = APIRouter(tags=["health"])

    @r.get("/healthz", summary="Liveness: the process answers")
    def healthz() -> Alive:
        return Alive()

    @r.get(
        "/readyz",
        summary="Readiness: PostgreSQL and Kafka answer",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "a dependency does not answer"}},
    )
    async def readyz() -> JSONResponse:
        ready, results = await run_in_threadpool(readiness, checks)
        status = "ready" if ready else "unavailable"
        return JSONResponse(
            {"status": status, "checks": results}, status_code=200 if ready else 503
        )

    return r
