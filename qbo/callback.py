"""The browser half of `sequence-qbo connect`: Intuit redirects to our redirect URI with
`code`, `state` and `realmId` (intuit/oauth-pythonclient#28, #29); we check `state`.

`CallbackReceiver` listens on the redirect URI's host and port for that one request. Its log is
silenced: the request line carries the authorization code.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from qbo import errors

__all__ = ["Callback", "CallbackReceiver", "parse_callback"]

_DONE = b"<html><body><h1>QuickBooks connected.</h1>You can close this window.</body></html>"
_FAILED = b"<html><body><h1>Connection failed.</h1>See the terminal.</body></html>"


@dataclass(frozen=True)
class Callback:
    code: str = field(repr=False)
    realm_id: str


def parse_callback(url: str, expected_state: str) -> Callback:
    """The callback URL's `code` and `realmId`, once `state` matched (constant-time compare)."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    if "error" in query:
        raise errors.AuthError(f"Intuit did not authorize the connection: {query['error']}")
    state = query.get("state", "")
    if not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise errors.AuthError(
            "the callback's state does not match: not our request "
            "(or a stale browser tab); run connect again"
        )
    if not query.get("code") or not query.get("realmId"):
        raise errors.AuthError("the callback carries no code or realmId")
    return Callback(query["code"], query["realmId"])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if urlsplit(self.path).path != self.server.path:
            self.send_error(404)
            return
        try:
            self.server.result = parse_callback(self.path, self.server.state)
            self._reply(200, _DONE)
        except errors.AuthError as exc:
            self.server.result = exc
            self._reply(400, _FAILED)

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line holds the authorization code."""


class _Server(HTTPServer):
    def __init__(self, address: tuple[str, int], path: str, state: str) -> None:
        super().__init__(address, _Handler)
        self.path, self.state = path, state
        self.result: Callback | errors.AuthError | None = None


class CallbackReceiver:
    """`with CallbackReceiver(uri, state) as rx: ...; rx.wait(timeout)`. Binds on enter."""

    def __init__(self, redirect_uri: str, state: str) -> None:
        parts = urlsplit(redirect_uri)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.path, self.state = parts.path or "/", state
        self._server: _Server | None = None

    def __enter__(self) -> CallbackReceiver:
        try:
            self._server = _Server(self.address, self.path, self.state)
        except OSError as exc:
            raise errors.ConfigError(
                f"cannot listen on {self.address[0]}:{self.address[1]} "
                f"for the OAuth callback: {exc}"
            ) from exc
        self._server.timeout = 0.2
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.server_close()

    def wait(self, timeout: float) -> Callback:
        assert self._server is not None, "use `with CallbackReceiver(...)`"
        deadline = time.monotonic() + timeout
        while self._server.result is None:
            if time.monotonic() > deadline:
                raise errors.AuthError(f"no OAuth callback within {timeout:.0f}s")
            try:
                self._server.handle_request()
            except OSError:  # a stray connection that failed; keep listening
                continue
        if isinstance(self._server.result, errors.AuthError):
            raise self._server.result
        return self._server.result
