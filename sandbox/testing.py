"""`running_sandbox()`: the emulator on a free loopback port, in a thread, for tests."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.server import build_server


class AdminError(RuntimeError):
    pass


class SandboxHandle:
    """Where the emulator listens, and small helpers over its `/_sandbox/` admin API."""

    def __init__(self, base_url: str, config: SandboxConfig) -> None:
        self.base_url, self.config = base_url, config

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}/_sandbox{path}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AdminError(f"{method} {path}: {exc.code} {exc.read().decode()}") from exc

    def create_realm(self, profile: str = "US", **options: Any) -> str:
        return self.admin("POST", "/realms", {"profile": profile, **options})["realm_id"]

    def token(self, realm_id: str, ttl: int | None = None) -> dict[str, Any]:
        return self.admin("POST", f"/realms/{realm_id}/token", {"ttl": ttl})

    def access_token(self, realm_id: str) -> str:
        return self.token(realm_id)["access_token"]

    def api_url(self, realm_id: str) -> str:
        return f"{self.base_url}/v3/company/{realm_id}"

    @property
    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid_configuration"

    def reset(self) -> None:
        self.admin("POST", "/reset")

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in filters.items() if v is not None)
        return self.admin("GET", f"/requests?{query}")["requests"]

    def stats(self, realm_id: str | None = None) -> dict[str, Any]:
        return self.admin("GET", "/stats" + (f"?realm={realm_id}" if realm_id else ""))

    def add_fault(self, **rule: Any) -> Any:
        return self.admin("POST", "/faults/rules", rule)

    def outage(self, seconds: float, kind: str = "error", **rule: Any) -> Any:
        """Every matching request fails for the next `seconds` (e.g. `status=503`, or
        `kind="throttle", retry_after=60`); the window starts when the emulator installs it."""
        return self.add_fault(kind=kind, probability=1.0, seconds=seconds, **rule)

    def set_faults(self, **settings: Any) -> Any:
        return self.admin("PUT", "/faults", settings)

    def clear_faults(self) -> Any:
        return self.admin("DELETE", "/faults")

    def set_quotas(self, realm_id: str, **quotas: Any) -> Any:
        return self.admin("PUT", f"/realms/{realm_id}/quotas", quotas)

    def set_webhooks(self, **settings: Any) -> Any:
        return self.admin("PUT", "/webhooks", settings)

    def set_preferences(self, realm_id: str, prefs: dict[str, Any]) -> Any:
        return self.admin("PATCH", f"/realms/{realm_id}/preferences", prefs)

    def set_exchange_rate(
        self, realm_id: str, currency: str, rate: float, as_of: str | None = None
    ) -> Any:
        body = {"currency": currency, "rate": rate, "as_of": as_of}
        return self.admin("POST", f"/realms/{realm_id}/exchangerates", body)

    def advance_clock(self, seconds: float) -> Any:
        return self.admin("POST", "/clock/advance", {"seconds": seconds})

    def objects(self, realm_id: str, entity: str) -> dict[str, Any]:
        return self.admin("GET", f"/realms/{realm_id}/objects/{entity}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(handle: SandboxHandle, thread: threading.Thread, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("sandbox server thread exited during start-up")
        try:
            if handle.admin("GET", "/health")["ok"]:
                return
        except (OSError, AdminError):
            time.sleep(0.02)  # polling with a deadline
    raise TimeoutError(f"sandbox did not answer within {timeout}s")


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, start_timeout: float = 10.0
) -> Iterator[SandboxHandle]:
    """Start uvicorn on 127.0.0.1:<free port> in a thread; stop it on exit."""
    config = config or SandboxConfig()
    port = free_port()
    server = build_server("127.0.0.1", port, config)
    thread = threading.Thread(target=server.run, name=f"sandbox:{port}", daemon=True)
    thread.start()
    handle = SandboxHandle(f"http://127.0.0.1:{port}", config)
    try:
        _wait_until_up(handle, thread, start_timeout)
        yield handle
    finally:
        server.should_exit = True
        thread.join(timeout=10)
