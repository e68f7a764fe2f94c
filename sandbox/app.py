"""`create_app(config)`: the FastAPI application (admin API, OAuth) with the v3 API in front."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from sandbox import admin, oauth
from sandbox.config import SandboxConfig
from sandbox.gateway import Gateway
from sandbox.state import SandboxState


class SandboxApp(FastAPI):
    """FastAPI, except that `/v3/` goes straight to the gateway.

    The gateway needs uvicorn's own `send` (to drop connections for fault injection) and the
    hot path should not pay for routing and middleware.
    """

    gateway: Gateway

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v3/company/"):
            await self.gateway(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    state = SandboxState(config or SandboxConfig())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.webhooks.start()
        yield
        await state.webhooks.stop()

    app = SandboxApp(
        title="QBO sandbox",
        version="1",
        lifespan=lifespan,
        description="A stateful QuickBooks Online v3 emulator.",
    )
    app.gateway = Gateway(state)
    app.state.sandbox = state
    app.include_router(oauth.router(state))
    app.include_router(admin.router(state), prefix="/_sandbox")
    return app
