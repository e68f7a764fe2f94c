"""Many accounts busy at once, with `sequence-qbo run`'s defaults (threads, per-account limit,
pool size): every invoice synced exactly once, customers auto-created, no pool timeout.

Before the short transactions, 4 accounts and 120 invoices dead-locked the pool (a sync held
one connection across QBO and asked for a second)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from cryptography.fernet import Fernet

from consumers.runtime.concurrent import RuntimeOptions
from consumers.runtime.engine import EngineOptions
from schemas import loader, serde
from sequence_qbo import wiring
from sequence_qbo.commands import run as run_command
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings
from store.db import Database
from tests.helpers import wait_until
from tests.integration.harness import produce, running
from tests.integration.invoices.documents import customer, invoice

pytestmark = pytest.mark.integration

ACCOUNTS = 20
INVOICES = 50  # per account: 20 x 50 = 1,000 at once, about 20-25 s on a 2-core machine
CUSTOMERS = 5  # per account, each auto-created by the first of its 10 invoices to get there


def _run_defaults() -> argparse.Namespace:
    """The options `sequence-qbo run` starts with when given none."""
    parser = argparse.ArgumentParser()
    run_command.register(parser.add_subparsers())
    return parser.parse_args(["run"])


def _connect_all(db: Database, settings: Settings, sandbox: Any) -> tuple[Settings, list[str]]:
    """ACCOUNTS accounts, each connected to its own emulator realm, under one token key."""
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
    accounts = []
    for _ in range(ACCOUNTS):
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
        accounts.append(account)
    return connected, accounts


def _events(settings: Settings, registry_url: str, accounts: list[str]) -> list[tuple[str, bytes]]:
    topic = settings.topics.invoice_finalized
    registry = SchemaRegistryClient.new_client({"url": registry_url})
    ser = AvroSerializer(
        registry,
        loader.schema_text("invoice.finalized"),
        conf={"subject.name.strategy": topic_subject_name_strategy},
    )
    ctx = SerializationContext(topic, MessageField.VALUE)
    records = []
    for n in range(INVOICES):  # interleaved: every account busy from the first record on
        for a, account in enumerate(accounts):
            iid = f"inv_{a}_{n}"
            body = invoice(iid, customer(f"cus_{n % CUSTOMERS}", f"Customer {n % CUSTOMERS}"))
            body["number"] = f"M-{a}-{n}"
            value = {
                "event_id": str(uuid.uuid4()),
                "occurred_at": dt.datetime.now(dt.UTC),
                "account_id": account,
                "invoice": body,
            }
            records.append((iid, ser(value, ctx)))
    return records


def _count(db: Database, sql: str) -> int:
    with db.transaction() as tx:
        return int(tx.conn.execute(sql).fetchone()["n"])


def test_20_accounts_x_50_invoices_at_once_with_runs_defaults(
    settings: Settings, qbo_sandbox, schema_registry_url, caplog
) -> None:
    defaults = _run_defaults()
    assert (defaults.threads, defaults.group_limit, settings.db_pool_max) == (64, 30, 20)
    setup = wiring.database(settings).open()
    try:
        connected, accounts = _connect_all(setup, settings, qbo_sandbox)
    finally:
        setup.close()
    records = _events(connected, schema_registry_url, accounts)
    total = ACCOUNTS * INVOICES
    caplog.set_level(logging.WARNING)
    codec = serde.Serde(
        serde.RegistryResolver(
            "unused", client=SchemaRegistryClient.new_client({"url": schema_registry_url})
        )
    )
    with wiring.Application(connected, serde_=codec) as app:  # the pool `run` opens
        options = RuntimeOptions(
            engine=EngineOptions(max_in_flight=defaults.threads, group_limit=defaults.group_limit)
        )
        runtime = app.runtime(app.handlers(), options=options)
        produce(connected.kafka_bootstrap, connected.topics.invoice_finalized, records)
        started = time.monotonic()
        with running(runtime):
            wait_until(
                lambda: (
                    _count(app.db, "select count(*) as n from sync_ledger where status = 'synced'")
                    == total
                ),
                timeout=240,
                interval=0.5,
                message=f"{total} invoices synced",
            )
        elapsed = time.monotonic() - started
        problems = _count(
            app.db, "select count(*) as n from sync_attempts where outcome <> 'synced'"
        )
    print(f"\n{total} invoices over {ACCOUNTS} accounts synced in {elapsed:.1f}s")
    # psycopg_pool's "couldn't get a connection after 30.00 sec", in any log or error.
    timeouts = [r.getMessage() for r in caplog.records if "get a connection" in r.getMessage()]
    assert timeouts == [], timeouts[:3]
    assert problems == 0  # no retrying (no pool timeout, no database trouble), nothing failed
    in_qbo = 0
    for account in accounts:
        realm = app_realm(connected, account)
        invoices = qbo_sandbox.objects(realm, "Invoice")["objects"]
        assert len({i["DocNumber"] for i in invoices}) == len(invoices) == INVOICES
        names = sorted(c["DisplayName"] for c in qbo_sandbox.objects(realm, "Customer")["objects"])
        assert names == [f"Customer {c}" for c in range(CUSTOMERS)]  # one each, none twice
        in_qbo += len(invoices)
    assert in_qbo == total


def app_realm(settings: Settings, account: str) -> str:
    db = wiring.database(settings).open()
    try:
        with db.transaction() as tx:
            row = tx.conn.execute(
                "select realm_id from qbo_connections where account_id = %s", (account,)
            ).fetchone()
        return str(row["realm_id"])
    finally:
        db.close()
