"""`serve(host, port, config)`: run the emulator in the foreground (the CLI calls this)."""

from __future__ import annotations

import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxConfig


def build_server(host: str, port: int, config: SandboxConfig) -> uvicorn.Server:
    settings = uvicorn.Config(
        create_app(config),
        host=host,
        port=port,
        log_level=config.log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
        lifespan="on",
    )
    return uvicorn.Server(settings)


def serve(host: str = "127.0.0.1", port: int = 8600, config: SandboxConfig | None = None) -> None:
    """Blocking: serves until interrupted."""
    build_server(host, port, config or SandboxConfig()).run()
