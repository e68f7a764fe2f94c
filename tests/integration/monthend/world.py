"""A month-end world: accounts connected to emulator realms (mapped, customers auto-created),
invoice.finalized records for them, and `sequence-qbo run`'s application consuming them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from cryptography.fernet import Fernet

from consumers.runtime.concurrent import RuntimeOptions
from consumers.runtime.engine import EngineOptions
from schemas import loader, serde
from sequence_qbo import wiring
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings
from store.db import Database
from tests.integration.harness import produce, running
from tests.integration.invoices.documents import customer, invoice

# Handlers in flight per realm: enough for a realm's backlog to fill batches of 30.
GROUP_LIMIT = 60


def connect_accounts(settings: Settings, sandbox: Any, n: int) -> tuple[Settings, list[str]]:
    """`n` accounts, each on its own emulator realm, under one token key."""
    key = Fernet.generate_key().decode()
    connected = settings.model_copy(
        update={
            "qbo_environment": "emulator",
            "qbo_base_url": sandbox.base_url,
            "token_encryption_key": key,
            "qbo_client_id": "test-client",
            "qbo_client_secret": "test-secret",
        }
    )
    db = wiring.database(settings).open()
    try:
        accounts = [_connect(db, key, sandbox) for _ in range(n)]
    finally:
        db.close()
    return connected, accounts


def _connect(db: Database, key: str, sandbox: Any) -> str:
    realm = sandbox.create_realm("UK")
    tokens = sandbox.token(realm)
    account = f"acct_{uuid.uuid4().hex[:8]}"
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3600)
    store_connection(
        db, key, account, realm, tokens["access_token"], tokens["refresh_token"], expires
    )
    item = next(
        i["Id"] for i in sandbox.objects(realm, "Item")["objects"] if i["Name"] == "Services"
    )
    with db.transaction() as tx:
        tx.conn.execute(
            "insert into account_settings (account_id, fallback_item_id, "
            "fallback_tax_code_id, auto_create_customers) values (%s, %s, '3', true)",
            (account, item),
        )
    return account


class Records:
    """invoice.finalized records, Avro-encoded against the registry."""

    def __init__(self, settings: Settings, registry_url: str) -> None:
        self.topic = settings.topics.invoice_finalized
        registry = SchemaRegistryClient.new_client({"url": registry_url})
        self._ser = AvroSerializer(
            registry,
            loader.schema_text("invoice.finalized"),
            conf={"subject.name.strategy": topic_subject_name_strategy},
        )
        self._ctx = SerializationContext(self.topic, MessageField.VALUE)

    def invoice(self, account: str, iid: str, number: str, cus: str = "cus_1") -> tuple[str, bytes]:
        body = invoice(iid, customer(cus, f"Customer {cus}"))
        body["number"] = number
        value = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": dt.datetime.now(dt.UTC),
            "account_id": account,
            "invoice": body,
        }
        return iid, self._ser(value, self._ctx)


@contextmanager
def consuming(settings: Settings, registry_url: str) -> Iterator[wiring.Application]:
    """The application `run` builds, its runtime consuming in a thread."""
    codec = serde.Serde(
        serde.RegistryResolver(
            "unused", client=SchemaRegistryClient.new_client({"url": registry_url})
        )
    )
    with wiring.Application(settings, serde_=codec) as app:
        options = RuntimeOptions(engine=EngineOptions(max_in_flight=64, group_limit=GROUP_LIMIT))
        runtime = app.runtime(app.handlers(), options=options)
        with running(runtime):
            yield app


def send(settings: Settings, records: list[tuple[str, bytes]]) -> None:
    produce(settings.kafka_bootstrap, settings.topics.invoice_finalized, records)


def count(db: Database, sql: str, *params: Any) -> int:
    with db.transaction() as tx:
        return int(tx.conn.execute(sql, params).fetchone()["n"])


def realm_of(db: Database, account: str) -> str:
    with db.transaction() as tx:
        row = tx.conn.execute(
            "select realm_id from qbo_connections where account_id = %s", (account,)
        ).fetchone()
    return str(row["realm_id"])
