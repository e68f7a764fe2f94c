"""`sequence-qbo serve`'s app over real HTTP, next to the emulator (real HTTP too), real
PostgreSQL and Kafka; a `requests` session plays the merchant's browser (it follows no redirect
on its own, so each hop is checked)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from pydantic import SecretStr

from sandbox.testing import SandboxHandle
from sequence_qbo import wiring
from sequence_qbo.commands import serve
from sequence_qbo.settings import Settings
from store.db import Database
from tests.integration.api.server import bound_socket, serving_on

pytestmark = pytest.mark.integration

ADMIN = "admin-token-Qx81vd"
SECRET = "client-secret-Zr55mp"
RETURN_URL = "https://dashboard.example/qbo?tab=settings"


@dataclass
class Server:
    base: str
    settings: Settings
    db: Database
    sb: SandboxHandle

    def admin(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        url = f"{self.base}/admin/v1/accounts{path}"
        return requests.request(method, url, headers=headers, timeout=30, **kw)

    def authorize(self, account: str, *, new_company: bool = False) -> str:
        reply = self.admin("POST", f"/{account}/connect", json={"new_company": new_company})
        assert reply.status_code == 200, reply.text
        return str(reply.json()["authorize_url"])

    def consent(self, authorize_url: str, realm_id: str) -> str:
        """The emulator's consent screen, choosing `realm_id`: where it sends the browser."""
        reply = requests.get(
            f"{authorize_url}&realmId={realm_id}", allow_redirects=False, timeout=30
        )
        assert reply.status_code == 302, reply.text
        callback = reply.headers["location"]
        assert callback.startswith(f"{self.base}/oauth/callback?")
        return callback

    def browse(self, url: str) -> requests.Response:
        return requests.get(url, allow_redirects=False, timeout=30)

    def connect(
        self, account: str, realm_id: str, *, new_company: bool = False
    ) -> requests.Response:
        """The whole browser round: connect button, consent, callback."""
        return self.browse(self.consent(self.authorize(account, new_company=new_company), realm_id))


def returned(reply: requests.Response) -> dict[str, str]:
    """The query the callback sent the browser back to the dashboard with."""
    assert reply.status_code == 303, reply.text
    location = reply.headers["location"]
    assert location.startswith("https://dashboard.example/qbo?tab=settings&")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def service_settings(settings: Settings, sb: SandboxHandle, port: int, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "qbo_environment": "emulator",
            "qbo_base_url": sb.base_url,
            "qbo_client_id": f"app-{uuid.uuid4().hex[:6]}",
            "qbo_client_secret": SecretStr(SECRET),
            "qbo_redirect_uri": f"http://127.0.0.1:{port}/oauth/callback",
            "token_encryption_key": SecretStr(Fernet.generate_key().decode()),
            "admin_token": SecretStr(ADMIN),
            "oauth_return_url": RETURN_URL,
            "webhook_verifier_token": None,
            **extra,
        }
    )


@pytest.fixture
def server(settings: Settings, qbo_sandbox: SandboxHandle, db: Database) -> Iterator[Server]:
    """`serve`'s app (built by the command's own `build_app`) on a free loopback port."""
    sock = bound_socket()
    port = sock.getsockname()[1]
    configured = service_settings(settings, qbo_sandbox, port)
    with wiring.Application(configured) as app, serving_on(sock, serve.build_app(app)) as base:
        yield Server(base, configured, db, qbo_sandbox)
