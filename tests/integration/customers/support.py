"""The emulator, a connected account and the service dependencies, for the customer tests."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet

from publishing import KafkaPublisher
from qbo import requestids
from qbo.client import QboClient
from qbo.tokens import StaticToken
from qbo.transport import Transport
from sandbox.testing import SandboxHandle
from schemas.serde import make_serde
from sequence_qbo import samples
from sequence_qbo.qbo_store import client_factory, store_connection
from sequence_qbo.settings import Settings
from store import customers
from store.db import Database
from sync.deps import Deps
from sync.publish import Publishing

ACCOUNT = "acct_cust"
ROOMY = {"per_minute": 100_000, "per_second": 1_000, "concurrent": 50, "batch_per_minute": 10_000}


@dataclass
class World:
    """One test's QBO company, connected to ACCOUNT, and what the services need."""

    sandbox: SandboxHandle
    realm_id: str
    settings: Settings
    db: Database
    deps: Deps
    raw: QboClient  # straight to the emulator (no quota, no ledger): set-up and checks

    def client(self) -> QboClient:
        return self.deps.client(ACCOUNT)

    def writes(self, entity: str = "Customer") -> list[dict[str, Any]]:
        """Create/update calls the emulator received for `entity` in this realm."""
        return [
            r
            for r in self.sandbox.requests(realm=self.realm_id, entity=entity)
            if r["operation"] in ("create", "update")
        ]


def qbo_settings(settings: Settings, sandbox: SandboxHandle) -> Settings:
    return Settings(
        **{
            **settings.model_dump(),
            "qbo_environment": "emulator",
            "qbo_base_url": sandbox.base_url,
            "token_encryption_key": Fernet.generate_key().decode(),
        }
    )


def world(settings: Settings, db: Database, sandbox: SandboxHandle, profile: str) -> World:
    realm_id = sandbox.create_realm(profile)
    sandbox.set_quotas(realm_id, **ROOMY)
    settings = qbo_settings(settings, sandbox)
    assert settings.token_encryption_key is not None
    token = sandbox.token(realm_id)
    store_connection(
        db,
        settings.token_encryption_key,
        ACCOUNT,
        realm_id,
        token["access_token"],
        token["refresh_token"],
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(token["expires_in"])),
    )
    factory = client_factory(settings, db)
    pub = Publishing.over(
        KafkaPublisher(settings.kafka_bootstrap), settings.topics, make_serde(None)
    )
    raw = QboClient(
        realm_id,
        base_url=sandbox.base_url,
        transport=Transport(),
        tokens=StaticToken(token["access_token"]),
    )
    return World(sandbox, realm_id, settings, db, Deps(db, factory, pub), raw)


def store_customer(
    db: Database,
    cid: str,
    name: str,
    *,
    email: str | None = None,
    country: str = "GB",
    tax_status: str = "TAXED",
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    snapshot = samples.customer(
        cid, name, email or f"{cid}@x.example", "1 Main St", "Leeds", "LS1 1AA", country, tax_status
    )
    customers.save_snapshot(
        db,
        account_id=ACCOUNT,
        customer_id=cid,
        snapshot=snapshot,
        event_id=uuid.uuid4(),
        occurred_at=at or dt.datetime.now(dt.UTC),
    )
    return snapshot


def qbo_customer(raw: QboClient, name: str, **fields: Any) -> dict[str, Any]:
    body = {"DisplayName": name, **fields}
    return raw.create("Customer", body, request_id=requestids.make("test", name))


def batch_create(raw: QboClient, entity: str, bodies: list[dict[str, Any]]) -> None:
    """Creates many objects, 30 per batch call (QBO's batch limit)."""
    for start in range(0, len(bodies), 30):
        items = [
            {"bId": str(start + i), "operation": "create", entity: body}
            for i, body in enumerate(bodies[start : start + 30])
        ]
        answer = raw.batch(items, request_id=f"seed-{uuid.uuid4().hex[:20]}")
        failed = {bid: r for bid, r in answer.items() if isinstance(r, Exception)}
        assert not failed, failed
