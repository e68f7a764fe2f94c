"""Month-end at scale: a burst of invoices over many realms, drained by 3 `sequence-qbo run`
processes in one consumer group against an emulator at QBO's own quotas (500/min, 10/s, 10
concurrent, 40 batch requests/min per realm) and 150 ms per request; real Kafka and PostgreSQL.

    make infra-up && .venv/bin/python -m bench.month_end [--realms 1000 --invoices 50000
        --busiest 5000 --subset 100 --p5 20000 --p6 1000000] [--only drain|alone|subset|p5|p6]

Prints, side by side: drain time against the quota-bound minimum (the busiest realm's invoices
÷ its quota, with and without batch), fairness (a quiet realm's one invoice produced at the
burst's peak: event → synced), QBO requests per invoice, 429s, the most requests in flight per
realm (from the emulator's log), peak RSS per process and PostgreSQL connections; throughput on
a subset against a naive consumer (one invoice at a time) and partition-ordered parallelism (one
worker per partition), all three with the same client; P5 (decode + validate + build, pure, one
core, time per stage) and P6 (RSS of one `run` through a backlog of small events). The sizes
are the issue's unless given (smaller ones keep the shape: the busiest realm a tenth of the
burst) and are printed. Addresses come from the environment like the service's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from bench._env import base_settings, bench_settings, fresh_database
from consumers._validation import parse
from consumers.runtime import kafka
from consumers.runtime.concurrent import RuntimeOptions
from consumers.runtime.engine import EngineOptions
from qbo import customer as customer_builder
from qbo import invoice as builder
from qbo import tax
from sandbox.config import Quotas, SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from schemas.models import Customer, InvoiceEvent
from schemas.serde import Serde
from sequence_qbo import samples, wiring
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings
from sequence_qbo.topics import ensure_topics
from store.db import Database
from sync.documents import DocumentSync

# QBO's own quotas per realm and app (developer.intuit.com "limits and throttles").
QBO_QUOTAS = Quotas(per_minute=500, per_second=10, concurrent=10, batch_per_minute=40)
PARTITIONS = 6
ISSUE_SIZES = (1000, 50_000, 5000, 1_000_000)  # realms, invoices, busiest realm's, P6 events
P5_ROUNDS = 3
PROCESSES = 3
GROUP_LIMIT = 60  # `run`'s default: a backlog fills the next batch of 30 while one waits
THREADS = 128
SYNCED = "select count(*) as n from sync_ledger where status = 'synced'"


# -- the world: realms, accounts, invoices ------------------------------------------------------


def _customer() -> dict[str, Any]:
    return samples.customer(
        "cus_m", "Month End Ltd", "ap@monthend.example", "1 St", "Leeds", "LS1", "GB", "TAXED"
    )


def _connect(app: wiring.Application, sb: SandboxHandle, n: int) -> list[str]:
    """`n` accounts, each on its own realm, its customer linked and its item mapped."""
    accounts = []
    for _ in range(n):
        realm = sb.create_realm("UK")
        account = f"acct_{uuid.uuid4().hex[:10]}"
        tokens = sb.token(realm)
        store_connection(
            app.db,
            app.settings.token_encryption_key,
            account,
            realm,
            tokens["access_token"],
            tokens["refresh_token"],
            dt.datetime.now(dt.UTC) + dt.timedelta(hours=2),
        )
        made = app.clients(account).create(
            "Customer",
            customer_builder.build_customer(Customer.model_validate(_customer())),
            request_id=f"bench-{realm}",
        )
        item = next(i for i in sb.objects(realm, "Item")["objects"] if i["Name"] == "Services")
        with app.db.transaction() as tx:
            tx.conn.execute(
                "insert into customer_links (account_id, customer_id, realm_id, "
                "qbo_customer_id, origin) values (%s, 'cus_m', %s, %s, 'link')",
                (account, realm, made["Id"]),
            )
            tx.conn.execute(
                "insert into account_settings (account_id, fallback_item_id, "
                "fallback_tax_code_id) values (%s, %s, '3')",
                (account, item["Id"]),
            )
        accounts.append(account)
    return accounts


def _invoice_value(account: str, iid: str) -> dict[str, Any]:
    line = samples.line("l1", "Plan", "1", "100.00", "100.00")
    invoice = samples.invoice(
        iid,
        _customer(),
        [samples.group("g", "Nov", [line])],
        number=iid[-20:],
        net="100.00",
        tax="20.00",
        gross="120.00",
    )
    return {**samples.envelope(account), "invoice": invoice}


def _produce(
    settings: Settings,
    topic: str,
    values: list[tuple[str, dict[str, Any]]],
    producer: Any = None,
) -> None:
    serde = wiring.serde(settings)
    producer = producer or kafka.producer(settings.kafka_bootstrap)
    event = "customer.updated" if topic == settings.topics.customer_updated else "invoice.finalized"
    for n, (key, value) in enumerate(values):
        producer.produce(topic, key=key, value=serde.encode(event, topic, value))
        if n % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, "the broker did not take every record"


def _backlog(accounts: list[str], invoices: int, busiest: int) -> list[tuple[str, dict]]:
    """`busiest` invoices for accounts[0], the rest spread over the others, interleaved (every
    merchant finalizes in the same hour)."""
    per: dict[str, int] = {accounts[0]: busiest}
    rest = accounts[1:]
    for n in range(invoices - busiest):
        per[rest[n % len(rest)]] = per.get(rest[n % len(rest)], 0) + 1
    out, k = [], 0
    while any(per.values()):
        for account in list(per):
            if per[account]:
                per[account] -= 1
                iid = f"m{k:07d}"
                out.append((iid, _invoice_value(account, iid)))
                k += 1
    return out


# -- the 3 run processes and what is sampled while they work -------------------------------------


def _env(settings: Settings, batch: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    env.update(
        {
            "SEQUENCE_QBO_DATABASE_URL": settings.database_url.get_secret_value(),
            "SEQUENCE_QBO_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SEQUENCE_QBO_CONSUMER_GROUP": settings.consumer_group,
            "SEQUENCE_QBO_QBO_ENVIRONMENT": "emulator",
            "SEQUENCE_QBO_QBO_BASE_URL": settings.qbo_base_url or "",
            "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY": _secret(settings.token_encryption_key),
            "SEQUENCE_QBO_QBO_CLIENT_ID": "bench",
            "SEQUENCE_QBO_QBO_CLIENT_SECRET": "bench",
            "SEQUENCE_QBO_QBO_BATCH_CREATES": "true" if batch else "false",
        }
    )
    if settings.schema_registry_url:
        env["SEQUENCE_QBO_SCHEMA_REGISTRY_URL"] = settings.schema_registry_url
    for name, topic in settings.topics.model_dump().items():
        env[f"SEQUENCE_QBO_TOPIC_{name.upper()}"] = topic
    return env


def _secret(value: Any) -> str:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value or "")


@contextmanager
def _run_processes(
    settings: Settings, topic: str, n: int, tag: str, batch: bool = True
) -> Iterator[list[int]]:
    procs = []
    for i in range(n):
        out = open(f"/tmp/month_end_{tag}_{i}.log", "wb")  # noqa: SIM115 (closed below)
        cli = os.path.join(os.path.dirname(sys.executable), "sequence-qbo")
        cmd = [cli, "run", "--only", topic, "--no-metrics"]
        cmd += ["--threads", str(THREADS), "--group-limit", str(GROUP_LIMIT)]
        cmd += ["--instance-id", f"bench-{tag}-{i}-{uuid.uuid4().hex[:6]}", "--text-logs"]
        env = _env(settings, batch)
        procs.append((subprocess.Popen(cmd, env=env, stdout=out, stderr=out), out))
    try:
        yield [p.pid for p, _ in procs]
    finally:
        for p, _ in procs:
            p.terminate()
        for p, out in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
            out.close()


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Samples:
    rss: dict[int, float] = field(default_factory=dict)  # pid → peak MB
    series: list[tuple[float, float]] = field(default_factory=list)  # (t, MB) of the first pid
    pg_active: int = 0
    pg_total: int = 0


@contextmanager
def _sampling(db: Database, db_name: str, pids: list[int], every: float) -> Iterator[Samples]:
    found, stop, started = Samples(), threading.Event(), time.monotonic()

    def loop() -> None:
        while not stop.wait(every):
            for pid in pids:
                found.rss[pid] = max(found.rss.get(pid, 0.0), _rss_mb(pid))
            found.series.append((time.monotonic() - started, _rss_mb(pids[0])))
            with db.transaction() as tx:
                row = tx.conn.execute(
                    "select count(*) filter (where state <> 'idle') as active, count(*) as total"
                    " from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
                    (db_name,),
                ).fetchone()
            found.pg_active = max(found.pg_active, int(row["active"]))
            found.pg_total = max(found.pg_total, int(row["total"]))

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join(10)


def _count(db: Database, sql: str, *params: Any) -> int:
    with db.transaction() as tx:
        return int(tx.conn.execute(sql, params).fetchone()["n"])


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.25)


# -- figures from the emulator's request log -----------------------------------------------------


def _max_in_flight(log: list[dict[str, Any]]) -> dict[str, int]:
    """Per realm, the most requests the emulator was serving at once (`started`: arrival,
    `time`: answer ready)."""
    edges: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for r in log:
        edges[r["realm"]] += [(float(r["started"]), 1), (float(r["time"]), -1)]
    peak: dict[str, int] = {}
    for realm, points in edges.items():
        now = best = 0
        for _, step in sorted(points, key=lambda p: (p[0], p[1])):
            now += step
            best = max(best, now)
        peak[realm] = best
    return peak


def _realm_profile(log: list[dict[str, Any]], realm: str) -> str:
    """What one realm's requests carried: its /batch requests and their mean fill, its single
    creates, and the invoices QBO created for it in each minute of the drain (a realm at its
    batch quota creates up to 1,200 a minute)."""
    mine = [r for r in log if r["realm"] == realm and r["status"] == 200]
    if not mine:
        return "no request"
    batches = [r for r in mine if r["entity"].lower() == "batch"]
    carried = [len(r.get("items") or []) for r in batches]
    singles = [r for r in mine if r["entity"] == "Invoice" and r["operation"] == "create"]
    start = min(float(r["started"]) for r in mine)
    per_minute: dict[int, int] = defaultdict(int)
    for r in batches:
        per_minute[int((float(r["started"]) - start) // 60)] += len(r.get("items") or [])
    for r in singles:
        per_minute[int((float(r["started"]) - start) // 60)] += 1
    fill = sum(carried) / len(carried) if carried else 0.0
    pace = ", ".join(str(per_minute[m]) for m in range(max(per_minute, default=-1) + 1))
    return (
        f"{len(batches)} /batch (mean {fill:.1f} of 30 items), {len(singles)} single creates; "
        f"created per minute: {pace}"
    )


# -- phase 1: the month-end drain ----------------------------------------------------------------


def drain(args: argparse.Namespace, settings: Settings, sb: SandboxHandle) -> None:
    with wiring.Application(settings) as app:
        accounts = _connect(app, sb, args.realms)
        busiest, quiet, *others = accounts
        realms = _realms(app.db)
        backlog = _backlog([busiest, *others], args.invoices, args.busiest)
        topic = settings.topics.invoice_finalized
        _produce(settings, topic, backlog)
        sb.set_faults(latency_ms=args.latency_ms)
        first_seq = sb.stats()["last_seq"]
        # Sequence's producer is long-lived: this one is connected before the clock starts.
        quiet_producer = kafka.producer(settings.kafka_bootstrap)
        quiet_producer.list_topics(topic, timeout=10)
        db_name = settings.database_url.get_secret_value().rsplit("/", 1)[1]
        started = time.monotonic()
        with (
            _run_processes(settings, topic, PROCESSES, "drain") as pids,
            _sampling(app.db, db_name, pids, 1.0) as seen,
        ):
            # The burst at its peak: a third of it synced, the rest queued.
            _wait(lambda: _count(app.db, SYNCED) >= len(backlog) // 3, 900, "a third synced")
            _produce(
                settings, topic, [("quiet-1", _invoice_value(quiet, "quiet-1"))], quiet_producer
            )
            _wait(lambda: _count(app.db, SYNCED) >= len(backlog) + 1, 1800, "all synced")
            elapsed = time.monotonic() - started
        sb.set_faults(latency_ms=0)
        log = [r for r in sb.requests() if r["seq"] > first_seq]
        with app.db.transaction() as tx:
            span = tx.conn.execute(
                "select account_id, extract(epoch from max(synced_at) - min(synced_at))::float"
                " as drain, count(*) as n from sync_ledger group by account_id"
            ).fetchall()
            fair = tx.conn.execute(
                "select extract(epoch from synced_at - snapshot_occurred_at)::float as s"
                " from sync_ledger where account_id = %s",
                (quiet,),
            ).fetchone()["s"]
            retried = tx.conn.execute(
                "select count(*) filter (where account_id = %s) as busiest, count(*) as n"
                " from sync_ledger where attempts > 1",
                (busiest,),
            ).fetchone()
    busy = next(r for r in span if r["account_id"] == busiest)
    per_realm = _max_in_flight(log)
    batches = sum(1 for r in log if r["entity"].lower() == "batch")
    # QBO's steady rates: the issue's "invoices ÷ quota".
    minimum_single = args.busiest / 500 * 60
    minimum_batch = args.busiest / (40 * 30) * 60
    print(
        f"\n== month-end drain: {args.realms} realms, {args.invoices} invoices, busiest realm "
        f"{args.busiest}, {PROCESSES} run processes x {THREADS} threads (group limit "
        f"{GROUP_LIMIT}), emulator {args.latency_ms:.0f} ms/request at QBO's quotas =="
    )
    print(f"all {len(backlog) + 1} invoices synced in {elapsed:.1f}s (from the processes' start)")
    print(
        f"busiest realm drained in {busy['drain']:.1f}s (first to last sync); quota-bound "
        f"minimum {minimum_batch:.1f}s with batch (1,200/min), {minimum_single:.1f}s without "
        f"(500/min): {busy['drain'] / minimum_batch:.2f}x / {busy['drain'] / minimum_single:.2f}x"
    )
    print(f"busiest realm's requests: {_realm_profile(log, realms[busiest])}")
    print(
        f"invoices synced at a second attempt or later: {retried['n']} "
        f"({retried['busiest']} of the busiest realm)"
    )
    print(f"fairness: quiet realm's invoice produced at the peak, event -> synced {fair:.2f}s")
    print(
        f"QBO requests: {len(log)} ({len(log) / (len(backlog) + 1):.3f} per invoice; "
        f"{batches} of them /batch); 429s received: {sum(r['status'] == 429 for r in log)}; "
        f"max in flight per realm: {max(per_realm.values(), default=0)} "
        f"(busiest realm {per_realm.get(realms[busiest], 0)})"
    )
    print(
        "peak RSS per process: "
        + ", ".join(f"{mb:.0f} MB" for mb in seen.rss.values())
        + f"; PostgreSQL connections: {seen.pg_total} open, {seen.pg_active} active at most"
    )


def _realms(db: Database) -> dict[str, str]:
    with db.transaction() as tx:
        rows = tx.conn.execute("select account_id, realm_id from qbo_connections").fetchall()
    return {r["account_id"]: r["realm_id"] for r in rows}


# -- phase 1b: the busiest realm alone, with and without batch -----------------------------------


def alone(args: argparse.Namespace, settings: Settings, sb: SandboxHandle) -> None:
    """The busiest realm's invoices with nothing else running: what QBO's quotas allow, with
    batches and with every create alone (`SEQUENCE_QBO_QBO_BATCH_CREATES=false`)."""
    print(
        f"\n== the busiest realm alone: {args.busiest} invoices, {PROCESSES} run processes, "
        f"emulator {args.latency_ms:.0f} ms/request at QBO's quotas =="
    )
    for batch in (True, False):
        _alone_once(args, settings, sb, batch)


def _alone_once(
    args: argparse.Namespace, settings: Settings, sb: SandboxHandle, batch: bool
) -> None:
    own = bench_settings(settings, settings.database_url.get_secret_value(), sb.base_url)
    ensure_topics(own.kafka_bootstrap, own.topics.all(), PARTITIONS)
    with wiring.Application(own) as app:
        [account] = _connect(app, sb, 1)
        realm = _realms(app.db)[account]
        values = _backlog([account], args.busiest, args.busiest)
        for key, value in values:
            value["invoice"]["id"] = value["invoice"]["number"] = f"a{int(batch)}{key}"
        _produce(own, own.topics.invoice_finalized, values)
        sb.set_faults(latency_ms=args.latency_ms)
        first = sb.stats()["last_seq"]
        done = SYNCED + " and account_id = %s"
        topic = own.topics.invoice_finalized
        with _run_processes(own, topic, PROCESSES, f"alone{int(batch)}", batch):
            _wait(lambda: _count(app.db, done, account) >= len(values), 900, "alone")
        sb.set_faults(latency_ms=0)
        with app.db.transaction() as tx:
            span = tx.conn.execute(
                "select extract(epoch from max(synced_at) - min(synced_at))::float as s"
                " from sync_ledger where account_id = %s",
                (account,),
            ).fetchone()["s"]
    log = [r for r in sb.requests(realm=realm) if r["seq"] > first]
    steady = args.busiest / (1200 if batch else 500) * 60
    print(
        f"{'with batch   ' if batch else 'without batch'}: drained in {span:.1f}s "
        f"(first to last sync; QBO's steady rate: {steady:.0f}s), {len(log)} QBO requests "
        f"({sum(r['entity'].lower() == 'batch' for r in log)} /batch), "
        f"429s {sum(r['status'] == 429 for r in log)}"
    )


# -- phase 2: the same client, three consumers, on a subset --------------------------------------


def subset(args: argparse.Namespace, settings: Settings, sb: SandboxHandle) -> None:
    per_realm = 25
    realms = max(1, args.subset // per_realm)
    sb.set_faults(latency_ms=args.latency_ms)
    rates = {}
    for name, consume in (
        ("naive (one at a time)", _naive),
        (f"partition-ordered ({PARTITIONS} workers)", _per_partition),
        ("sequence-qbo runtime (1 process)", _ours),
    ):
        own = bench_settings(settings, settings.database_url.get_secret_value(), sb.base_url)
        ensure_topics(own.kafka_bootstrap, own.topics.all(), PARTITIONS)
        with wiring.Application(own) as app:
            accounts = _connect(app, sb, realms)
            values = _backlog(accounts, realms * per_realm, per_realm)
            values = [(f"{name[:2]}{k}", v) for k, v in values]  # ids of this consumer's own
            for key, value in values:
                value["invoice"]["id"] = key
                value["invoice"]["number"] = key[-20:]
            _produce(own, own.topics.invoice_finalized, values)
            started = time.monotonic()
            consume(app, own, len(values), accounts)
            rates[name] = len(values) / (time.monotonic() - started)
    sb.set_faults(latency_ms=0)
    naive = next(iter(rates.values()))
    print(
        f"\n== throughput on a subset: {realms} realms x {per_realm} invoices, the same client "
        f"and emulator ({args.latency_ms:.0f} ms/request, QBO's quotas) =="
    )
    for name, rate in rates.items():
        print(f"{name:40s} {rate:7.1f} invoices/s  ({rate / naive:.1f}x naive)")


def _sync_one(app: wiring.Application, sync: DocumentSync, raw: bytes | None, topic: str) -> None:
    value = app.serde.decode("invoice.finalized", raw)
    parsed = parse(InvoiceEvent, value)
    assert isinstance(parsed, InvoiceEvent)
    sync.sync(parsed.account_id, parsed.invoice, parsed.occurred_at)


def _plain_sync(app: wiring.Application) -> DocumentSync:
    return DocumentSync(app.db, app.clients)  # no batcher: one create per request


def _naive(app: wiring.Application, settings: Settings, n: int, _accounts: list[str]) -> None:
    """What most integrations do: one confluent-kafka loop, one invoice at a time."""
    _partition_worker(app, settings, None, n, _plain_sync(app))


def _per_partition(
    app: wiring.Application, settings: Settings, n: int, _accounts: list[str]
) -> None:
    """The usual "parallel" Kafka consumer: one worker per partition, in offset order."""
    sync = _plain_sync(app)
    share = [0] * PARTITIONS
    workers = [
        threading.Thread(target=_partition_worker, args=(app, settings, p, n, sync, share))
        for p in range(PARTITIONS)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def _partition_worker(
    app: wiring.Application,
    settings: Settings,
    partition: int | None,
    n: int,
    sync: DocumentSync,
    shared: list[int] | None = None,
) -> None:
    topic = settings.topics.invoice_finalized
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"naive-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    parts = range(PARTITIONS) if partition is None else [partition]
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    done = 0
    try:
        while (sum(shared) if shared is not None else done) < n:
            msg = consumer.poll(0.2)
            if msg is None:
                if partition is not None and _partition_done(consumer, topic, partition):
                    return
                continue
            if msg.error():
                continue
            _sync_one(app, sync, msg.value(), topic)
            consumer.commit(msg, asynchronous=False)
            done += 1
            if shared is not None and partition is not None:
                shared[partition] += 1
    finally:
        consumer.close()


def _partition_done(consumer: Consumer, topic: str, partition: int) -> bool:
    _low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=False)
    [pos] = consumer.position([TopicPartition(topic, partition)])
    return pos.offset >= high


def _ours(app: wiring.Application, settings: Settings, n: int, accounts: list[str]) -> None:
    options = RuntimeOptions(engine=EngineOptions(max_in_flight=THREADS, group_limit=GROUP_LIMIT))
    runtime = app.runtime(app.handlers(), options=options)
    stop = threading.Event()
    worker = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    worker.start()
    try:
        done = SYNCED + " and account_id = any(%s)"
        _wait(lambda: _count(app.db, done, accounts) >= n, 900, "the runtime's share")
    finally:
        stop.set()
        worker.join(60)


# -- P5: decode + validate + build, the pure path ------------------------------------------------


def p5(args: argparse.Namespace, settings: Settings) -> None:
    serde = wiring.serde(settings)
    topic = settings.topics.invoice_finalized
    raw = serde.encode("invoice.finalized", topic, _invoice_value("acct_p5", "p5-0001"))
    ctx = builder.BuildContext(
        qbo_customer_id="1",
        company=builder.Company(country="GB", home_currency="GBP"),
        settings=builder.SyncSettings(tax=tax.TaxSettings(fallback="3")),
        fallback_item_id="1",
    )
    serde.decode("invoice.finalized", raw)  # the writer schema is fetched once, not timed
    print(f"\n== P5: decode + validate + build the QBO payload, one core, {args.p5} events ==")
    rates = []
    for n in range(P5_ROUNDS):  # rounds: a busy moment of the shared machine shows as one
        stages = _p5_round(serde, raw, ctx, args.p5)
        total = sum(stages.values())
        rates.append(args.p5 / total)
        print(
            f"round {n + 1}: {args.p5 / total:,.0f} events/s; per event "
            + ", ".join(
                f"{k} {v / args.p5 * 1e6:.0f} us ({v / total:.0%})" for k, v in stages.items()
            )
        )
    print(f"median {statistics.median(rates):,.0f} events/s (goal 20,000)")


def _p5_round(serde: Serde, raw: bytes, ctx: builder.BuildContext, n: int) -> dict[str, float]:
    stages = {"decode": 0.0, "validate": 0.0, "build": 0.0}
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        value = serde.decode("invoice.finalized", raw)
        t1 = clock()
        parsed = parse(InvoiceEvent, value)
        t2 = clock()
        assert isinstance(parsed, InvoiceEvent)
        builder.build_invoice(parsed.invoice, ctx)
        t3 = clock()
        stages["decode"] += t1 - t0
        stages["validate"] += t2 - t1
        stages["build"] += t3 - t2
    return stages


# -- P6: RSS of one run process through a backlog of small events --------------------------------

P6_SAMPLE_EVERY = 3.0  # seconds between RSS samples
P6_CHUNK = 10_000  # records encoded per round before the producer is served
P6_SHOWN = 40  # samples printed (evenly spaced); all of them go to the CSV


@dataclass
class P6Sample:
    t: float  # seconds since the `run` process started
    rss: float  # MB
    committed: int  # events committed by the group so far


def p6(args: argparse.Namespace, settings: Settings) -> None:
    topic, n = settings.topics.customer_updated, args.p6
    ensure_topics(settings.kafka_bootstrap, settings.topics.all(), PARTITIONS)
    watcher = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": settings.consumer_group,  # reads the group's commits, never joins it
            "enable.auto.commit": False,
        }
    )
    try:
        made = time.monotonic()
        _produce_small(settings, topic, n)
        made = time.monotonic() - made
        ends = _end_offsets(watcher, topic)
        assert sum(ends) == n, f"the topic holds {sum(ends)} records, not {n}"
        with _run_processes(settings, topic, 1, "p6") as pids:
            samples_ = _p6_samples(pids[0], lambda: sum(_committed(watcher, topic)), n)
        committed = _committed(watcher, topic)  # after the shutdown's own commit
        dead = sum(_end_offsets(watcher, settings.topics.dlq))
    finally:
        watcher.close()
    _p6_report(n, made, samples_, ends, committed, dead)


def _produce_small(settings: Settings, topic: str, n: int) -> None:
    """`n` customer.updated for 1,000 unknown accounts, encoded and produced a chunk at a time
    (a million values never sit in memory together); a full producer queue is waited out."""
    serde = wiring.serde(settings)
    producer = kafka.producer(
        settings.kafka_bootstrap, **{"linger.ms": 50, "queue.buffering.max.messages": 500_000}
    )
    customer = samples.customer("c", "C", "c@c.example", "1 St", "Leeds", "LS1", "GB", "TAXED")
    for start in range(0, n, P6_CHUNK):
        for i in range(start, min(n, start + P6_CHUNK)):
            value = {**samples.envelope(f"acct_unknown_{i % 1000}"), "customer": customer}
            raw = serde.encode("customer.updated", topic, value)
            while True:
                try:
                    producer.produce(topic, key=f"c{i}", value=raw)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(120) == 0, "the broker did not take every record"


def _p6_samples(pid: int, committed: Callable[[], int], n: int) -> list[P6Sample]:
    """RSS and the group's committed count every P6_SAMPLE_EVERY s until all `n` are committed
    (timeout: 100 events/s, far below what one process does)."""
    started, found = time.monotonic(), []
    deadline = started + 600 + n / 100
    while True:
        time.sleep(P6_SAMPLE_EVERY)
        done = committed()
        found.append(P6Sample(time.monotonic() - started, _rss_mb(pid), done))
        if done >= n:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"the backlog consumed: {done} of {n} after {found[-1].t:.0f}s")


def _p6_report(
    n: int, made: float, found: list[P6Sample], ends: list[int], committed: list[int], dead: int
) -> None:
    elapsed = found[-1].t
    step = max(1, len(found) // P6_SHOWN)
    shown = found[::step] + ([found[-1]] if (len(found) - 1) % step else [])
    series = ", ".join(f"{s.t:.0f}s {s.rss:.0f}" for s in shown)
    by_share = ", ".join(f"{p}% {_rss_at(found, n * p // 100):.0f}" for p in (10, 25, 50, 75, 100))
    peak = max(found, key=lambda s: s.rss)
    with open("/tmp/month_end_p6_rss.csv", "w") as out:
        out.write("seconds,rss_mb,committed\n")
        out.writelines(f"{s.t:.1f},{s.rss:.1f},{s.committed}\n" for s in found)
    print(f"\n== P6: one run process through {n:,} customer.updated (unknown accounts) ==")
    rate = n / elapsed
    print(f"produced in {made:.1f}s; consumed and committed in {elapsed:.0f}s ({rate:,.0f}/s)")
    print(f"RSS MB every {P6_SAMPLE_EVERY * step:.0f} s: {series}")
    print(f"RSS MB by share of the backlog committed: {by_share}")
    print(
        f"RSS start {found[0].rss:.0f} MB, peak {peak.rss:.0f} MB (at {peak.t:.0f}s), "
        f"end {found[-1].rss:.0f} MB; every sample in /tmp/month_end_p6_rss.csv"
    )
    skipped = sum(max(0, end - c) for end, c in zip(ends, committed, strict=True))
    print(
        f"committed {sum(committed):,} of {sum(ends):,} (per partition: committed {committed}, "
        f"end {ends}); {skipped} not committed; {dead} dead-lettered"
    )


def _rss_at(found: list[P6Sample], committed: int) -> float:
    """RSS at the first sample with at least `committed` events committed."""
    return next((s.rss for s in found if s.committed >= committed), found[-1].rss)


def _committed(watcher: Consumer, topic: str) -> list[int]:
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    return [max(0, tp.offset) for tp in watcher.committed(parts, timeout=10)]


def _end_offsets(watcher: Consumer, topic: str) -> list[int]:
    return [
        watcher.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in range(PARTITIONS)
    ]


# -- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # The issue's month-end by default (≈10 min for the drain); `--realms 100 --invoices 5000
    # --busiest 500` is the same shape a tenth the size (≈1 min).
    parser.add_argument("--realms", type=int, default=ISSUE_SIZES[0])
    parser.add_argument("--invoices", type=int, default=ISSUE_SIZES[1])
    parser.add_argument("--busiest", type=int, default=ISSUE_SIZES[2])
    parser.add_argument("--subset", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=150.0)
    parser.add_argument("--p5", type=int, default=20_000)
    parser.add_argument("--p6", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["drain", "alone", "subset", "p5", "p6"], action="append")
    args = parser.parse_args(argv)
    phases = set(args.only or ["drain", "alone", "subset", "p5", "p6"])
    env = base_settings()
    db_url = fresh_database(env)
    asked = (args.realms, args.invoices, args.busiest, args.p6)
    print(
        f"sizes: {args.realms} realms, {args.invoices} invoices (busiest realm {args.busiest}), "
        f"subset {args.subset}, P5 {args.p5} events, P6 {args.p6} events; "
        + (
            "the issue's sizes"
            if asked == ISSUE_SIZES
            else "the issue's are 1,000 realms / 50,000 / 5,000 / P6 1,000,000"
        )
    )
    # P5 and P6 need no emulator: the QBO address of their settings leads nowhere.
    offline = bench_settings(env, db_url, "http://127.0.0.1:1")
    if phases & {"drain", "alone", "subset"}:
        with running_sandbox(SandboxConfig(quotas=QBO_QUOTAS)) as sb:
            settings = bench_settings(env, db_url, sb.base_url)
            ensure_topics(settings.kafka_bootstrap, settings.topics.all(), PARTITIONS)
            if "drain" in phases:
                drain(args, settings, sb)
            if "alone" in phases:
                alone(args, settings, sb)
            if "subset" in phases:
                subset(args, settings, sb)
    if "p5" in phases:
        p5(args, offline)
    if "p6" in phases:
        p6(args, offline)


if __name__ == "__main__":
    main()
