"""The QBO client against the emulator over real HTTP, with a real PostgreSQL per test.

Settings are built here (not with the shared `settings` fixture): these tests need no Kafka.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet

from qbo.client import QboClient
from qbo.connection import ClientFactory
from qbo.quota import Limits
from qbo.retry import RetryPolicy
from qbo.transport import Timeouts, Transport
from sandbox.config import Quotas, SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from sequence_qbo.qbo_store import client_factory, store_connection
from sequence_qbo.settings import Settings
from store.db import Database

pytestmark = pytest.mark.integration

# Roomy emulator quotas for the shared server; the quota test sets real ones on its realm.
ROOMY = Quotas(per_minute=1_000_000, per_second=100_000, concurrent=200, batch_per_minute=10_000)
# Our side too: functional tests should not wait for the real 10/s.
FAST = Limits(per_second=10_000, per_minute=1_000_000, concurrent=50, batch_per_minute=10_000)
# Short waits so retry tests finish quickly; the 429 wait too.
QUICK = RetryPolicy(max_attempts=4, base=0.01, cap=0.05, max_inline_wait=1.0, throttle_wait=0.05)


@pytest.fixture(scope="session")
def sb() -> Iterator[SandboxHandle]:
    with running_sandbox(SandboxConfig(quotas=ROOMY, seed=11)) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _no_faults_left(sb: SandboxHandle) -> Iterator[None]:
    yield
    sb.clear_faults()


@pytest.fixture
def fernet_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def qbo_settings(db_url: str, sb: SandboxHandle, fernet_key: str) -> Settings:
    return Settings(
        database_url=db_url,
        qbo_environment="emulator",
        qbo_base_url=sb.base_url,
        qbo_client_id="app-id",
        qbo_client_secret="app-secret-Zx81",
        token_encryption_key=fernet_key,
        webhook_verifier_token="verifier-Qm42-secret",
    )


@pytest.fixture
def factory(qbo_settings: Settings, db: Database) -> Iterator[ClientFactory]:
    transport = Transport(timeouts=Timeouts(connect=2.0, read=5.0))
    made = client_factory(qbo_settings, db, transport=transport, limits=FAST, policy=QUICK)
    yield made
    made.close()


@dataclass
class Connected:
    account_id: str
    realm_id: str
    client: QboClient
    access_token: str
    refresh_token: str


def connect_account(
    sb: SandboxHandle,
    db: Database,
    factory: ClientFactory,
    fernet_key: str,
    profile: str = "US",
    expires_in: dt.timedelta | None = None,
) -> Connected:
    """A realm with admin-minted tokens, registered as an account's connection."""
    realm_id = sb.create_realm(profile)
    minted = sb.token(realm_id)
    account_id = f"acc_{uuid.uuid4().hex[:8]}"
    expires_at = dt.datetime.now(dt.UTC) + (expires_in or dt.timedelta(hours=1))
    store_connection(
        db,
        fernet_key,
        account_id,
        realm_id,
        minted["access_token"],
        minted["refresh_token"],
        expires_at,
    )
    _, client = factory.for_account(account_id)
    return Connected(account_id, realm_id, client, minted["access_token"], minted["refresh_token"])


@pytest.fixture
def us(sb: SandboxHandle, db: Database, factory: ClientFactory, fernet_key: str) -> Connected:
    return connect_account(sb, db, factory, fernet_key, "US")


def requests_of(sb: SandboxHandle, realm_id: str) -> list[dict]:
    return sb.requests(realm=realm_id)
