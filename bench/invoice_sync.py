"""Invoice sync at steady state: QBO calls per invoice and per-invoice latency, end to end
(real Kafka and PostgreSQL, the concurrent runtime, the emulator on loopback).

    make infra-up && .venv/bin/python bench/invoice_sync.py [N] [EMULATOR_LATENCY_MS] [RATE]

PostgreSQL and Kafka are the environment's, like the service's (SEQUENCE_QBO_DATABASE_URL,
SEQUENCE_QBO_KAFKA_BOOTSTRAP; defaults: `make infra-up`).

Invoices are produced at a steady RATE per second (default 10, under one realm's capacity)
while the consumers run. Prints: QBO requests per invoice (goal ≤ 1.05), event → synced
latency p50/p99 next to the emulator's own time per request, and the requests a full replay
of the topic made (goal 0).
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._env import base_settings, bench_settings, fresh_database
from consumers.runtime import kafka
from qbo import customer as customer_builder
from sandbox.config import Quotas, SandboxConfig
from sandbox.testing import running_sandbox
from schemas.models import Customer
from sequence_qbo import samples, wiring
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings
from sequence_qbo.topics import ensure_topics

ROOMY = Quotas(per_minute=1_000_000, per_second=100_000, concurrent=1000, batch_per_minute=1000)


def _settings(db_url: str, base_url: str) -> Settings:
    """PostgreSQL and Kafka from the environment like the service (SEQUENCE_QBO_DATABASE_URL,
    SEQUENCE_QBO_KAFKA_BOOTSTRAP); topics, group and token key of the bench's own."""
    return bench_settings(
        base_settings(),
        db_url,
        base_url,
        qbo_requests_per_second=100_000,
        qbo_requests_per_minute=1_000_000,
        qbo_concurrent_requests=100,
    )


def _setup(app: wiring.Application, sb, realm: str) -> None:
    settings, db = app.settings, app.db
    tokens = sb.token(realm)
    store_connection(
        db,
        settings.token_encryption_key,
        "acct_bench",
        realm,
        tokens["access_token"],
        tokens["refresh_token"],
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    client = app.clients.for_account("acct_bench")[1]
    cust = samples.customer(
        "cus_b", "Bench Ltd", "ap@bench.example", "1 St", "Leeds", "LS1", "GB", "TAXED"
    )
    made = client.create(
        "Customer",
        customer_builder.build_customer(Customer.model_validate(cust)),
        request_id=f"bench-{realm}",
    )
    item = next(i for i in sb.objects(realm, "Item")["objects"] if i["Name"] == "Services")
    with db.transaction() as tx:
        tx.conn.execute(
            "insert into customer_links (account_id, customer_id, realm_id, "
            "qbo_customer_id, origin) values ('acct_bench', 'cus_b', %s, %s, "
            "'link')",
            (realm, made["Id"]),
        )
        tx.conn.execute(
            "insert into account_settings (account_id, fallback_item_id, "
            "fallback_tax_code_id) values ('acct_bench', %s, '3')",
            (item["Id"],),
        )


def _invoices(n: int) -> list[dict]:
    cust = samples.customer(
        "cus_b", "Bench Ltd", "ap@bench.example", "1 St", "Leeds", "LS1", "GB", "TAXED"
    )
    line = samples.line("l1", "Plan", "1", "100.00", "100.00")
    return [
        samples.invoice(
            f"b{i}",
            cust,
            [samples.group("g", "Nov", [line])],
            number=f"B{i:06d}",
            net="100.00",
            tax="20.00",
            gross="120.00",
        )
        for i in range(n)
    ]


def _run_until(app: wiring.Application, count_sql: str, n: int, group: str | None = None) -> None:
    db = app.db
    runtime = app.runtime(app.handlers(), group=group)
    stop = threading.Event()
    worker = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    worker.start()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with db.transaction() as tx:
            if tx.conn.execute(count_sql).fetchone()["n"] >= n:
                break
        time.sleep(0.2)
    stop.set()
    worker.join(60)


def _feed(producer, serde, topic: str, n: int, rate: float) -> None:
    """Produces `n` invoices at `rate` per second; occurred_at is the moment of producing."""
    start = time.monotonic()
    for i, inv in enumerate(_invoices(n)):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        value = {**samples.envelope("acct_bench"), "invoice": inv}
        producer.produce(
            topic, key=inv["id"], value=serde.encode("invoice.finalized", topic, value)
        )
        producer.poll(0)
    producer.flush(30)


def main(n: int = 300, latency_ms: float = 150.0, rate: float = 10.0) -> None:
    db_url = fresh_database(base_settings())
    with running_sandbox(SandboxConfig(quotas=ROOMY)) as sb:
        realm = sb.create_realm("UK")
        settings = _settings(db_url, sb.base_url)
        ensure_topics(settings.kafka_bootstrap, settings.topics.all(), 6)
        with wiring.Application(settings) as app:
            db = app.db
            _setup(app, sb, realm)
            sb.set_faults(latency_ms=latency_ms)
            serde = wiring.serde(settings)
            producer = kafka.producer(settings.kafka_bootstrap)
            topic = settings.topics.invoice_finalized
            before = len(sb.requests(realm=realm))
            started = time.monotonic()
            feeder = threading.Thread(target=_feed, args=(producer, serde, topic, n, rate))
            feeder.start()
            _run_until(app, "select count(*) as n from sync_ledger where status = 'synced'", n)
            feeder.join()
            elapsed = time.monotonic() - started
            log = sb.requests(realm=realm)[before:]
            # Steady state: the invoices of the first 3 s wait for the consumer group to form.
            warm = int(3 * rate)
            with db.transaction() as tx:
                lat = [
                    r["s"]
                    for r in tx.conn.execute(
                        "select extract(epoch from synced_at - snapshot_occurred_at)::float as s "
                        "from sync_ledger where status = 'synced' "
                        "and substr(sequence_id, 2)::int >= %s",
                        (warm,),
                    ).fetchall()
                ]
            replay_before = len(sb.requests(realm=realm))
            _run_until(
                app,
                "select count(*) as n from sync_attempts where outcome = 'skipped'",
                n,
                group="bench-replay",
            )
            replay_calls = len(sb.requests(realm=realm)) - replay_before
    emulator_ms = statistics.median(r["ms"] for r in log) if log else 0.0
    q = statistics.quantiles(lat, n=100)
    print(
        f"latency p90 {q[89] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
        f"max {max(lat) * 1000:.0f} ms"
    )
    print(
        f"invoices synced: {n} produced at {rate:.0f}/s, done in {elapsed:.1f}s; emulator "
        f"latency {latency_ms:.0f} ms per request"
    )
    print(f"QBO requests per invoice: {len(log) / n:.3f} (goal <= 1.05)")
    print(
        f"event -> synced latency (after a 3 s warm-up): p50 {q[49] * 1000:.0f} ms, "
        f"p99 {q[98] * 1000:.0f} ms; "
        f"emulator time per request p50 {emulator_ms:.0f} ms"
    )
    print(f"QBO requests made by a full replay: {replay_calls} (goal 0)")


if __name__ == "__main__":
    main(*(int(a) if i == 0 else float(a) for i, a in enumerate(sys.argv[1:])))  # type: ignore[arg-type]
