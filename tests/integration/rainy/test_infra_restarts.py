"""PostgreSQL and the Schema Registry stopped and restarted mid-run, with the project's infra
scripts, on private instances (a port and data folder of their own: the shared ones stay up).

`sequence-qbo run` is a real subprocess under a small supervisor that restarts it whenever it
exits, as systemd or Kubernetes would; `Service.exits` records every exit. What the code does
today: `run` keeps going through both outages (it never exits; the documents wait in retries),
and the tests assert exactly that.

Afterwards every invoice is in QBO exactly once (QBO invoices counted by DocNumber, duplicates
allowed by the realm; QBO create requests counted in the emulator's log) and nothing is
dead-lettered.
"""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Iterator
from typing import Any

import fastavro
import psycopg
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from pydantic import SecretStr

from consumers.runtime import kafka
from sandbox.config import SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from schemas import loader
from schemas.serde import make_serde
from sequence_qbo.settings import Settings
from store.db import Database
from store.migrate import migrate
from tests.helpers import wait_until
from tests.integration.conftest import ROOMY
from tests.integration.rainy.fleet import (
    Fleet,
    Service,
    connect_fleet,
    plan,
    records_on,
    service_env,
)
from tests.integration.rainy.infra import private_postgres, private_registry

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

DOWN_SECONDS = 20.0  # how long each server stays stopped: several retry rounds of the runtime
# From the restart to every invoice in QBO and synced in the ledger: a few retry rounds, and
# for PostgreSQL a sync lease left by a sync cut off mid-way (two minutes) plus a retry after it.
RECOVERY_SECONDS = 180
PG_RECOVERY_SECONDS = 270
CLEAN: dict[str, Any] = {"duplicated": [], "lost": [], "strangers": [], "creates_off": {}}


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(SandboxConfig(quotas=ROOMY, request_log_size=1_000_000)) as sb:
        yield sb


def test_postgres_stopped_and_restarted_mid_run(
    settings: Settings, sandbox: SandboxHandle, tmp_path: Any
) -> None:
    """PostgreSQL (private cluster) is stopped with `infra/postgres/down.sh` while invoices are
    mid-sync (QBO answers slowly, so calls are in flight when it goes), kept down for 20 s and
    started again with `infra/postgres/up.sh`. `run` keeps going: its pool reconnects, and a
    sync cut off after its QBO call may have to wait for its lease to expire (two minutes, see
    sync/documents.py) before a retry adopts the QBO invoice its request id made (seen: 4 of
    150 invoices waited so, all synced about 2 min 50 s after PostgreSQL was back)."""
    with private_postgres() as pg:
        migrate(pg.url)
        local = settings.model_copy(update={"database_url": SecretStr(pg.url)})
        with Database(pg.url, min_size=1, max_size=4) as db:
            fleet = connect_fleet(db, local, sandbox, realms=3, prefix="pg")
        service = Service(service_env(fleet), tmp_path)
        serde = make_serde(None)
        service.start()
        try:
            fleet.produce(serde, plan(fleet, 10, 0, customers=2))
            _wait_in_qbo(fleet, service, 30, timeout=120)
            # Slow QBO answers keep syncs in flight (QBO call made, ledger not yet written).
            sandbox.set_faults(latency_ms=800)
            fleet.produce(serde, plan(fleet, 40, 10, customers=3))
            _wait_in_qbo(fleet, service, 45, timeout=120)
            pg.down()
            _stay_down(service, DOWN_SECONDS)
            pg.up()
            sandbox.clear_faults()
            _wait_synced(fleet, service, pg.url, 150, timeout=PG_RECOVERY_SECONDS)
        finally:
            stopped = service.stop()
        report = fleet.exactly_once_report()
        assert report == CLEAN, report
        assert records_on(local.kafka_bootstrap, local.topics.dlq) == 0, service.log_tail()
        assert (service.exits, stopped) == ([], 0), service.log_tail()
        _record_behaviour("postgres", service)


def test_schema_registry_stopped_and_restarted_mid_run(
    settings: Settings, db: Database, db_url: str, sandbox: SandboxHandle, tmp_path: Any
) -> None:
    """The registry (private Apicurio, file storage so schema ids survive) is stopped with
    `infra/registry/down.sh` while invoices written with a schema version `run` has not seen
    yet are waiting, kept down for 20 s and started again with `infra/registry/up.sh`. Those
    invoices must wait for it (never dead-lettered as undecodable) and then sync. `run` keeps
    going: each such record is retried, holding back only its key."""
    with private_registry() as registry:
        local = settings.model_copy(update={"schema_registry_url": registry.url})
        fleet = connect_fleet(db, local, sandbox, realms=3, prefix="reg")
        service = Service(service_env(fleet), tmp_path)
        service.start()
        try:
            fleet.produce(make_serde(registry.url), plan(fleet, 10, 0, customers=2))
            _wait_in_qbo(fleet, service, 30, timeout=120)
            # Written with a newer, compatible schema (one more optional field): a schema id
            # this `run` has never resolved, so it needs the registry to decode them.
            later = _encode_with_new_schema(fleet, registry.url, plan(fleet, 10, 10, customers=3))
            registry.down()
            _produce_raw(fleet, later)
            _stay_down(service, DOWN_SECONDS)
            during = fleet.in_qbo()
            dead_during = records_on(local.kafka_bootstrap, local.topics.dlq)
            registry.up()
            _wait_synced(fleet, service, db_url, 60, timeout=RECOVERY_SECONDS)
        finally:
            stopped = service.stop()
        assert (during, dead_during) == (30, 0), "decoded without the registry, or dead-lettered"
        report = fleet.exactly_once_report()
        assert report == CLEAN, report
        assert records_on(local.kafka_bootstrap, local.topics.dlq) == 0, service.log_tail()
        assert (service.exits, stopped) == ([], 0), service.log_tail()
        _record_behaviour("registry", service)


def _wait_in_qbo(fleet: Fleet, service: Service, n: int, timeout: float) -> None:
    def done() -> bool:
        service.supervise()
        return fleet.in_qbo() >= n

    wait_until(done, timeout=timeout, interval=0.5, message=f"{n} invoices in QBO")


def _stay_down(service: Service, seconds: float) -> None:
    """The outage itself: a fixed time with the server stopped, supervising `run` meanwhile."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        service.supervise()
        time.sleep(0.5)  # the outage's length is the point, not a condition


def _wait_synced(fleet: Fleet, service: Service, db_url: str, n: int, timeout: float) -> None:
    """Every invoice in QBO and `synced` in the ledger (a connection per look: the server may
    have restarted since the last one)."""

    def done() -> bool:
        service.supervise()
        if fleet.in_qbo() < n:
            return False
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "select count(*) from sync_ledger where status = 'synced' "
                "and document_type = 'invoice'"
            ).fetchone()
        return row is not None and row[0] == n

    wait_until(done, timeout=timeout, interval=1.0, message=f"{n} invoices in QBO and synced")


def _record_behaviour(server: str, service: Service) -> None:
    """What `run` did while the server was down, in the test report (-rA shows it)."""
    print(f"{server} outage: run restarted {len(service.exits)} times, exits {service.exits}")


def _encode_with_new_schema(
    fleet: Fleet, registry_url: str, batch: list[Any]
) -> list[tuple[str, bytes]]:
    topic = fleet.settings.topics.invoice_finalized
    schema = json.loads(loader.schema_text("invoice.finalized"))
    schema["fields"].append({"name": "rainy_note", "type": ["null", "string"], "default": None})
    client = SchemaRegistryClient.new_client({"url": registry_url})
    schema_id = client.register_schema(f"{topic}-value", Schema(json.dumps(schema), "AVRO"))
    parsed = fastavro.parse_schema(schema)
    out = []
    for account, n, customer in batch:
        key, value = fleet.invoice(account, n, customer)
        buf = io.BytesIO()
        buf.write(struct.pack(">bI", 0, schema_id))
        fastavro.schemaless_writer(buf, parsed, {**value, "rainy_note": "v2"})
        out.append((key, buf.getvalue()))
    return out


def _produce_raw(fleet: Fleet, records: list[tuple[str, bytes]]) -> None:
    producer = kafka.producer(fleet.settings.kafka_bootstrap)
    for key, value in records:
        producer.produce(fleet.settings.topics.invoice_finalized, key=key, value=value)
    assert producer.flush(30) == 0
