"""Fixtures for tests that need the QBO emulator next to the real Kafka and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.fernet import Fernet

from sandbox.config import Quotas, SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings
from store.db import Database

ROOMY = Quotas(per_minute=100_000, per_second=100_000, concurrent=100, batch_per_minute=1000)


@pytest.fixture(scope="session")
def qbo_sandbox() -> Iterator[SandboxHandle]:
    """One emulator (a real HTTP server) for the session; every test makes its own realm."""
    with running_sandbox(SandboxConfig(quotas=ROOMY)) as sb:
        yield sb


@dataclass(frozen=True)
class Connected:
    """An account connected to a fresh emulator realm."""

    account_id: str
    realm_id: str
    settings: Settings
    sandbox: SandboxHandle

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        return self.sandbox.requests(realm=self.realm_id, **filters)


def connect(
    db: Database, settings: Settings, sb: SandboxHandle, profile: str, **realm_options: Any
) -> Connected:
    realm_id = sb.create_realm(profile, **realm_options)
    tokens = sb.token(realm_id)
    account_id = f"acct_{uuid.uuid4().hex[:8]}"
    key = Fernet.generate_key().decode()
    connected = Settings(
        **{
            **settings.model_dump(),
            "qbo_environment": "emulator",
            "qbo_base_url": sb.base_url,
            "token_encryption_key": key,
            "qbo_client_id": "test-client",
            "qbo_client_secret": "test-secret",
            # The emulator's realms are roomy (ROOMY); quota behaviour has tests of its own.
            "qbo_requests_per_second": 10_000,
            "qbo_requests_per_minute": 100_000,
            "qbo_concurrent_requests": 50,
        }
    )
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(tokens.get("expires_in", 3600)))
    store_connection(
        db, key, account_id, realm_id, tokens["access_token"], tokens["refresh_token"], expires
    )
    return Connected(account_id, realm_id, connected, sb)
