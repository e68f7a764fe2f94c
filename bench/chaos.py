"""Chaos: invoices through `sequence-qbo run` while QBO misbehaves and the process is SIGKILLed.

    make infra-up && .venv/bin/python -m bench.chaos [--invoices 2000 --realms 20 --kills 10]

Kafka and PostgreSQL come from the environment, as for the service (`SEQUENCE_QBO_KAFKA_BOOTSTRAP`,
`SEQUENCE_QBO_DATABASE_URL`: the bench creates a database of its own on that server and drops it
afterwards). The QBO emulator runs in this process on loopback: every request has a 20% chance of
a 5xx (500 or 503), a 10% chance of a 429, and every write a 5% chance of commit-then-drop (QBO
did it, the answer never came). Realms auto-create their customers and accept duplicate
DocNumbers, so an invoice created twice shows as two QBO invoices.

All invoices are produced at once; `run` (its defaults, a real subprocess) is SIGKILLed each time
another 1/(kills+1) of them reaches QBO and restarted at once. Prints: invoices produced, in QBO,
duplicated, lost, dead-lettered, failed in the ledger, and the seconds from each restart to the
next QBO write. Goal: 0 duplicated, 0 lost, 0 dead-lettered, every resume <= 10 s.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from cryptography.fernet import Fernet
from pydantic import SecretStr

from consumers.runtime import kafka
from sandbox.config import Quotas, SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from schemas.serde import make_serde
from sequence_qbo import samples
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings, Topics, load
from sequence_qbo.topics import ensure_topics
from store.db import Database
from store.migrate import migrate

ROOT = Path(__file__).resolve().parents[1]
ROOMY = Quotas(per_minute=1_000_000, per_second=100_000, concurrent=1000, batch_per_minute=1000)
WRITES = ("create", "update", "void", "delete")
NOT_WRITES = ("query", "batch", "oauth")  # POSTs that read


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--invoices", type=int, default=2000)
    p.add_argument("--realms", type=int, default=20)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--errors", type=float, default=0.20, help="share of requests answered 5xx")
    p.add_argument("--throttles", type=float, default=0.10, help="share answered 429")
    p.add_argument("--commit-drops", type=float, default=0.05, help="share of writes dropped")
    p.add_argument("--timeout", type=float, default=1200, help="give up after this many seconds")
    p.add_argument("--seed", type=int, default=15, help="the emulator's fault dice")
    return p.parse_args()


def _database(base: Settings) -> str:
    """A fresh, migrated database on the service's PostgreSQL server."""
    url = base.database_url.get_secret_value()
    name = f"sqbo_chaos_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    bench_url = url.rsplit("/", 1)[0] + "/" + name
    migrate(bench_url)
    return bench_url


def _drop(base: Settings, bench_url: str) -> None:
    name = bench_url.rsplit("/", 1)[1]
    with psycopg.connect(base.database_url.get_secret_value(), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _connect(db: Database, sb: SandboxHandle, key: str, realms: int) -> list[tuple[str, str]]:
    """(account, realm) pairs: UK realms, customers auto-created, duplicate DocNumbers allowed."""
    accounts = []
    for i in range(realms):
        realm = sb.create_realm("UK", enforce_unique_doc_number=False)
        tokens = sb.token(realm)
        account = f"acct_chaos_{i:02d}"
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        store_connection(
            db, key, account, realm, tokens["access_token"], tokens["refresh_token"], expires
        )
        item = next(i for i in sb.objects(realm, "Item")["objects"] if i["Name"] == "Services")
        with db.transaction() as tx:
            tx.conn.execute(
                "insert into account_settings (account_id, fallback_item_id, "
                "fallback_tax_code_id, auto_create_customers) values (%s, %s, '3', true)",
                (account, str(item["Id"])),
            )
        accounts.append((account, realm))
    return accounts


def _produce(settings: Settings, accounts: list[tuple[str, str]], n: int) -> dict[str, str]:
    """`n` invoices round-robin over the accounts (5 customers each); DocNumber → realm."""
    serde, topic = make_serde(None), settings.topics.invoice_finalized
    producer = kafka.producer(settings.kafka_bootstrap)
    numbers = {}
    for i in range(n):
        account, realm = accounts[i % len(accounts)]
        a, c = i % len(accounts), (i // len(accounts)) % 5
        cust = samples.customer(
            f"cus_{a}_{c}", f"Chaos {a}-{c} Ltd", f"ap{a}-{c}@chaos.example", "1 St", "Leeds",
            "LS1 1AA", "GB", "TAXED",
        )  # fmt: skip
        line = samples.line("l1", "Plan", "1", "100.00", "100.00")
        number = f"C{i:06d}"
        inv = samples.invoice(
            f"inv_{i}", cust, [samples.group("g", "Month", [line])], number=number,
            net="100.00", tax="20.00", gross="120.00",
        )  # fmt: skip
        value = {**samples.envelope(account), "invoice": inv}
        producer.produce(
            topic, key=inv["id"], value=serde.encode("invoice.finalized", topic, value)
        )
        producer.poll(0)
        numbers[number] = realm
    assert producer.flush(60) == 0, "the broker did not acknowledge every invoice"
    return numbers


def _env(settings: Settings, base_url: str, key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    env.update(
        {f"SEQUENCE_QBO_TOPIC_{f.upper()}": t for f, t in settings.topics.model_dump().items()}
    )
    env.update(
        {
            "SEQUENCE_QBO_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SEQUENCE_QBO_DATABASE_URL": settings.database_url.get_secret_value(),
            "SEQUENCE_QBO_CONSUMER_GROUP": settings.consumer_group,
            "SEQUENCE_QBO_QBO_ENVIRONMENT": "emulator",
            "SEQUENCE_QBO_QBO_BASE_URL": base_url,
            "SEQUENCE_QBO_QBO_CLIENT_ID": "chaos",
            "SEQUENCE_QBO_QBO_CLIENT_SECRET": "chaos",
            "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY": key,
            "SEQUENCE_QBO_QBO_REQUESTS_PER_SECOND": "10000",
            "SEQUENCE_QBO_QBO_REQUESTS_PER_MINUTE": "1000000",
            "SEQUENCE_QBO_QBO_CONCURRENT_REQUESTS": "100",
        }
    )
    return env


def _faults(sb: SandboxHandle, errors: float, throttles: float, drops: float) -> None:
    """Rules are tried in order and the first that fires wins, so each rule's chance is
    conditioned on the ones before not firing: the shares come out as asked."""
    rules: list[dict[str, Any]] = []
    left = 1.0
    for rule, share in (
        ({"kind": "error", "status": 500}, errors / 2),
        ({"kind": "error", "status": 503}, errors / 2),
        ({"kind": "throttle"}, throttles),
    ):
        rules.append({**rule, "probability": min(1.0, share / left)})
        left -= share
    rules.append({"kind": "commit_drop", "method": "POST", "probability": min(1.0, drops / left)})
    sb.set_faults(rules=[r for r in rules if r["probability"] > 0])


class Run:
    """The `run` subprocess; its logs go to `logs/run-N.log`."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.n = env, logs, 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.crashes: list[int] = []  # exit codes of runs that ended by themselves

    def supervise(self) -> None:
        """Restarts the process when it exited by itself, as a supervisor would."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            self.crashes.append(self.proc.returncode)
            self.start()

    def start(self) -> float:
        self.n += 1
        with (self.logs / f"run-{self.n}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sequence_qbo", "run", "--no-metrics"],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        return time.time()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


def _in_qbo(sb: SandboxHandle, realms: set[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for realm in realms:
        for inv in sb.objects(realm, "Invoice")["objects"]:
            counts[str(inv.get("DocNumber"))] += 1
    return counts


def _next_write(sb: SandboxHandle, seq: int, since: float, ok_only: bool) -> float | None:
    """Arrival time of the first QBO write (create/update/void/delete) after `since`, looking
    at the request log past entry `seq`."""
    for entry in sb.requests(method="POST", since=seq):
        if entry["started"] < since or entry["entity"].lower() in NOT_WRITES:
            continue
        # An injected fault answers before the API runs, so only a write that ran has its
        # operation; any other POST is a write attempt.
        if not ok_only or (entry["status"] == 200 and entry["operation"] in WRITES):
            return float(entry["started"])
    return None


def _records(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "chaos-counter"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        marks = [consumer.get_watermark_offsets(TopicPartition(topic, p), 10) for p in parts]
        return sum(high - low for low, high in marks)
    finally:
        consumer.close()


def _ledger(db: Database) -> dict[str, int]:
    with db.transaction() as tx:
        rows = tx.conn.execute(
            "select status, count(*) as n from sync_ledger where document_type = 'invoice' "
            "group by status"
        ).fetchall()
    return {r["status"]: int(r["n"]) for r in rows}


def _wait_resume(
    sb: SandboxHandle, run: Run, seq: int, restarted: float, deadline: float
) -> tuple[float, float]:
    """Seconds from the restart to the next write attempt and to the next successful write."""
    attempt = ok = None
    while (attempt is None or ok is None) and time.time() < deadline:
        attempt = attempt or _next_write(sb, seq, restarted, ok_only=False)
        ok = ok or _next_write(sb, seq, restarted, ok_only=True)
        run.supervise()
        time.sleep(0.2)  # polling the emulator's log, bounded by the deadline
    return (
        (attempt - restarted) if attempt else float("nan"),
        (ok - restarted) if ok else float("nan"),
    )


def _chaos(args: argparse.Namespace, sb: SandboxHandle, settings: Settings, db: Database) -> None:
    key = Fernet.generate_key().decode()
    accounts = _connect(db, sb, key, args.realms)
    realms = {realm for _, realm in accounts}
    ensure_topics(settings.kafka_bootstrap, settings.topics.all(), settings.topic_partitions)
    numbers = _produce(settings, accounts, args.invoices)
    _faults(sb, args.errors, args.throttles, args.commit_drops)
    logs = Path(tempfile.mkdtemp(prefix="sqbo-chaos-"))
    run = Run(_env(settings, sb.base_url, key), logs)
    started = run.start()
    deadline = started + args.timeout
    resumes: list[tuple[float, float]] = []
    step = args.invoices / (args.kills + 1)
    try:
        for k in range(1, args.kills + 1):
            while time.time() < deadline and _count(sb, realms, numbers) < k * step:
                run.supervise()
                time.sleep(0.5)  # polling progress, bounded by the deadline
            run.kill()
            seq = sb.stats()["last_seq"]
            restarted = run.start()
            resumes.append(_wait_resume(sb, run, seq, restarted, deadline))
        while time.time() < deadline and _count(sb, realms, numbers) < args.invoices:
            run.supervise()
            time.sleep(1.0)  # polling progress, bounded by the deadline
        elapsed = time.time() - started
        # QBO has them all; the ledger records the last confirmations shortly after.
        while time.time() < deadline and _ledger(db).get("synced", 0) < args.invoices:
            run.supervise()
            time.sleep(1.0)  # polling the ledger, bounded by the deadline
        settled = time.time() - started
    finally:
        code = run.stop()
    _report(args, sb, realms, numbers, settings, db, resumes, (elapsed, settled), code, run)


def _count(sb: SandboxHandle, realms: set[str], numbers: dict[str, str]) -> int:
    counts = _in_qbo(sb, realms)
    return sum(1 for n in numbers if counts[n])


def _report(
    args: argparse.Namespace,
    sb: SandboxHandle,
    realms: set[str],
    numbers: dict[str, str],
    settings: Settings,
    db: Database,
    resumes: list[tuple[float, float]],
    elapsed: tuple[float, float],
    code: int | None,
    run: Run,
) -> None:
    counts = _in_qbo(sb, realms)
    fired = sb.stats()["faults_fired"]
    requests = sb.stats()["total"]
    print(
        f"sizes: {args.invoices} invoices over {args.realms} realms, {args.kills} SIGKILLs; "
        f"faults {args.errors:.0%} 5xx, {args.throttles:.0%} 429, "
        f"{args.commit_drops:.0%} commit-then-drop of writes"
    )
    print(f"QBO requests: {requests}; faults fired: {dict(sorted(fired.items()))}")
    print(f"invoices produced:      {len(numbers)}")
    print(f"in QBO:                 {sum(1 for n in numbers if counts[n])}")
    print(f"duplicated:             {sum(1 for n in numbers if counts[n] > 1)}")
    print(f"lost:                   {sum(1 for n in numbers if not counts[n])}")
    print(f"dead-lettered:          {_records(settings.kafka_bootstrap, settings.topics.dlq)}")
    print(f"ledger (invoices):      {_ledger(db)}")
    attempts = [a for a, _ in resumes]
    oks = [o for _, o in resumes]
    print(f"restart -> next QBO write attempt (s): {' '.join(f'{a:.1f}' for a in attempts)}")
    print(f"restart -> next successful write (s):  {' '.join(f'{o:.1f}' for o in oks)}")
    if oks:
        print(f"worst resume: {max(oks):.1f} s (goal <= 10 s)")
    print(f"runs that exited by themselves (restarted): {run.crashes or 'none'}")
    print(
        f"all in QBO after {elapsed[0]:.0f} s, all synced in the ledger after {elapsed[1]:.0f} s; "
        f"last run exited {code}; logs in {run.logs}"
    )


def main() -> None:
    args = _args()
    base = load()
    db_url = _database(base)
    suffix = uuid.uuid4().hex[:8]
    topics = Topics(**{k: f"chaos{suffix}.{v}" for k, v in Topics().model_dump().items()})
    settings = base.model_copy(
        update={
            "database_url": SecretStr(db_url),
            "topics": topics,
            "consumer_group": f"chaos-{suffix}",
        }
    )
    config = SandboxConfig(quotas=ROOMY, seed=args.seed, request_log_size=2_000_000)
    try:
        with running_sandbox(config) as sb, Database(db_url, min_size=1, max_size=4) as db:
            _chaos(args, sb, settings, db)
    finally:
        _drop(base, db_url)
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        for future in admin.delete_topics(topics.all(), operation_timeout=30).values():
            with contextlib.suppress(Exception):  # a topic never created: nothing to delete
                future.result(60)


if __name__ == "__main__":
    main()
