"""A fleet of connected accounts, `sequence-qbo run` as a real subprocess, and the counts that
prove exactly-once: QBO objects and QBO create requests (the emulator's request log), never
ledger rows behind a unique key.

Each account is connected to its own emulator realm with `enforce_unique_doc_number` off, so a
second create of the same invoice would make a second QBO invoice (not a 6210 that hides it),
and customers are auto-created on the first invoice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from cryptography.fernet import Fernet

from consumers.runtime import kafka
from sandbox.testing import SandboxHandle
from schemas.serde import Serde
from sequence_qbo import samples
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings
from store.db import Database

ROOT = Path(__file__).resolve().parents[3]
NET, TAX, GROSS = "100.00", "20.00", "120.00"  # UK standard rate: tax code 3 (20.0% S)


@dataclass(frozen=True)
class Account:
    account_id: str
    realm_id: str
    index: int


@dataclass
class Fleet:
    """`realms` accounts, each in its own realm, sharing one token encryption key."""

    settings: Settings
    sandbox: SandboxHandle
    accounts: list[Account]
    key: str
    produced: dict[str, str] = field(default_factory=dict)  # DocNumber → realm

    def invoice(self, account: Account, n: int, customer: int) -> tuple[str, dict[str, Any]]:
        """Invoice `n` of `account` (key, value); DocNumber R<account>-<n>, unique per fleet."""
        cust = samples.customer(
            f"cus_{account.index}_{customer}",
            f"Rainy {account.index}-{customer} Ltd",
            f"ap{account.index}-{customer}@rainy.example",
            "1 Main St",
            "Leeds",
            "LS1 1AA",
            "GB",
            "TAXED",
        )
        line = samples.line("l1", "Plan", "1", NET, NET)
        number = f"R{account.index:02d}-{n:05d}"
        inv = samples.invoice(
            f"inv_{account.index}_{n}",
            cust,
            [samples.group("g1", "Month", [line])],
            number=number,
            net=NET,
            tax=TAX,
            gross=GROSS,
        )
        self.produced[number] = account.realm_id
        return inv["id"], {**samples.envelope(account.account_id), "invoice": inv}

    def produce(self, serde: Serde, batch: list[tuple[Account, int, int]]) -> None:
        """Produces (account, invoice number, customer number) invoices, acknowledged."""
        topic = self.settings.topics.invoice_finalized
        producer = kafka.producer(self.settings.kafka_bootstrap)
        for account, n, customer in batch:
            key, value = self.invoice(account, n, customer)
            producer.produce(topic, key=key, value=serde.encode("invoice.finalized", topic, value))
        assert producer.flush(30) == 0, "broker did not acknowledge the invoices"

    # -- what QBO holds --------------------------------------------------------------------

    def qbo_doc_numbers(self) -> Counter[str]:
        """DocNumber → how many QBO invoices carry it, over every realm of the fleet."""
        counts: Counter[str] = Counter()
        for account in self.accounts:
            for inv in self.sandbox.objects(account.realm_id, "Invoice")["objects"]:
                counts[str(inv.get("DocNumber"))] += 1
        return counts

    def in_qbo(self) -> int:
        counts = self.qbo_doc_numbers()
        return sum(1 for number in self.produced if counts[number] >= 1)

    def invoice_creates(self) -> Counter[str]:
        """Realm → invoice creates QBO carried out (status 200, not a requestid replay), alone
        or as /batch items: a create whose answer was dropped counts, since QBO made it."""
        creates: Counter[str] = Counter()
        realms = {a.realm_id for a in self.accounts}
        for entry in self.sandbox.requests(method="POST"):
            if entry["realm"] not in realms or entry["status"] != 200 or entry["replayed"]:
                continue
            if entry["entity"] == "Invoice" and entry["operation"] == "create":
                creates[entry["realm"]] += 1
            # A realm's backlog goes out through /batch: each Invoice item it carried out.
            creates[entry["realm"]] += (entry.get("items") or []).count("Invoice.create")
        return creates

    def exactly_once_report(self) -> dict[str, Any]:
        """Duplicated and lost DocNumbers, and realms whose create count is not their
        invoice count; all empty when every invoice is in QBO exactly once."""
        counts = self.qbo_doc_numbers()
        expected = Counter(self.produced.values())
        creates = self.invoice_creates()
        return {
            "duplicated": sorted(n for n in self.produced if counts[n] > 1),
            "lost": sorted(n for n in self.produced if counts[n] == 0),
            "strangers": sorted(set(counts) - set(self.produced)),
            "creates_off": {
                r: (creates[r], expected[r]) for r in expected if creates[r] != expected[r]
            },
        }


def connect_fleet(
    db: Database, settings: Settings, sandbox: SandboxHandle, realms: int, prefix: str = "rain"
) -> Fleet:
    key = Fernet.generate_key().decode()
    accounts = []
    for index in range(realms):
        realm_id = sandbox.create_realm("UK", enforce_unique_doc_number=False)
        tokens = sandbox.token(realm_id)
        account_id = f"acct_{prefix}_{index:02d}"
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(tokens["expires_in"]))
        store_connection(
            db, key, account_id, realm_id, tokens["access_token"], tokens["refresh_token"], expires
        )
        item = next(
            i for i in sandbox.objects(realm_id, "Item")["objects"] if i["Name"] == "Services"
        )
        with db.transaction() as tx:
            tx.conn.execute(
                "insert into account_settings (account_id, fallback_item_id, "
                "fallback_tax_code_id, auto_create_customers) values (%s, %s, '3', true)",
                (account_id, str(item["Id"])),
            )
        accounts.append(Account(account_id, realm_id, index))
    return Fleet(settings, sandbox, accounts, key)


# -- the service as an operator runs it --------------------------------------------------------


def service_env(fleet: Fleet, **overrides: str) -> dict[str, str]:
    """`sequence-qbo`'s environment for the fleet (its settings, the emulator, its key)."""
    s = fleet.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    env.update(
        {
            f"SEQUENCE_QBO_TOPIC_{name.upper()}": topic
            for name, topic in s.topics.model_dump().items()
        }
    )
    env.update(
        {
            "SEQUENCE_QBO_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "SEQUENCE_QBO_DATABASE_URL": s.database_url.get_secret_value(),
            "SEQUENCE_QBO_CONSUMER_GROUP": s.consumer_group,
            "SEQUENCE_QBO_QBO_ENVIRONMENT": "emulator",
            "SEQUENCE_QBO_QBO_BASE_URL": fleet.sandbox.base_url,
            "SEQUENCE_QBO_QBO_CLIENT_ID": "test-client",
            "SEQUENCE_QBO_QBO_CLIENT_SECRET": "test-secret",
            "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY": fleet.key,
            # The emulator's realms are roomy; QBO's own quotas have tests of their own.
            "SEQUENCE_QBO_QBO_REQUESTS_PER_SECOND": "10000",
            "SEQUENCE_QBO_QBO_REQUESTS_PER_MINUTE": "100000",
            "SEQUENCE_QBO_QBO_CONCURRENT_REQUESTS": "50",
            "COLUMNS": "250",
        }
    )
    if s.schema_registry_url:
        env["SEQUENCE_QBO_SCHEMA_REGISTRY_URL"] = s.schema_registry_url
    env.update(overrides)
    return env


class Service:
    """`sequence-qbo run` (the defaults an operator gets) in a subprocess, restarted like a
    supervisor would when it exits; `exits` records every exit code seen."""

    def __init__(self, env: dict[str, str], logs: Path, *args: str) -> None:
        self.env, self.logs, self.args = env, logs, args
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.exits: list[int] = []

    def start(self) -> None:
        self.starts += 1
        with (self.logs / f"run-{self.starts}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sequence_qbo", "run", "--no-metrics", *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def supervise(self) -> bool:
        """Restarts the process if it exited; True while it is running."""
        assert self.proc is not None
        code = self.proc.poll()
        if code is None:
            return True
        self.exits.append(code)
        self.start()
        return False

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit code (None when it had to be SIGKILLed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
            return None

    def log_tail(self, chars: int = 4000) -> str:
        text = "".join(
            f"--- {p.name}\n" + p.read_text(errors="replace")[-chars:]
            for p in sorted(self.logs.glob("run-*.log"))
        )
        return text[-3 * chars :]

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("run-*.log")))


def status_json(env: dict[str, str]) -> tuple[int, Any]:
    """`sequence-qbo status --json`: (exit code, parsed output or the raw text)."""
    done = subprocess.run(
        [sys.executable, "-m", "sequence_qbo", "status", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    try:
        return done.returncode, json.loads(done.stdout)
    except ValueError:
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")[-2000:]


def shows_retrying(status: Any) -> bool:
    """Whether a `status --json` document counts documents in the `retrying` state."""
    if not isinstance(status, dict):
        return False
    return int(status.get("totals", {}).get("retrying", 0)) > 0


def retrying_reasons(status: Any) -> set[str]:
    """The reason codes of the documents `status --json` lists as retrying."""
    if not isinstance(status, dict):
        return set()
    return {
        str(d.get("reason_code"))
        for d in status.get("documents", [])
        if d.get("status") == "retrying"
    }


def records_on(bootstrap: str, topic: str) -> int:
    """How many records `topic` holds (the sum of its partitions' end offsets)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "rainy-counter"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        marks = [consumer.get_watermark_offsets(TopicPartition(topic, p), 10) for p in partitions]
        return sum(high - low for low, high in marks)
    finally:
        consumer.close()


def plan(
    fleet: Fleet, per_account: int, first: int, customers: int
) -> list[tuple[Account, int, int]]:
    """`per_account` invoices for every account starting at number `first`, spread over
    `customers` customers, interleaved across accounts (as a busy month-end would be)."""
    return [
        (account, n, n % customers)
        for n in range(first, first + per_account)
        for account in fleet.accounts
    ]
