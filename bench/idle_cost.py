"""What an idle service costs in QBO requests, and what a replay of `qbo.changes` costs
(real Kafka and PostgreSQL, the emulator on loopback at QBO's quotas).

    make infra-up && .venv/bin/python bench/idle_cost.py [REALMS] [INVOICES_PER_REALM] [PASSES]

PostgreSQL and Kafka are the environment's, like the service's (SEQUENCE_QBO_DATABASE_URL,
SEQUENCE_QBO_KAFKA_BOOTSTRAP; defaults: `make infra-up`); so is the CDC interval
(SEQUENCE_QBO_CDC_INTERVAL_SECONDS, default 60 s).

Each realm gets INVOICES_PER_REALM invoices synced through the consumers; half of them are
paid in QBO (alternately in full and in part) and the webhooks Intuit would send are
put on `qbo.changes` (each twice: Intuit retries). Then the service's loops run (consumers,
outbox relay, CDC poller): after the first pass has reconciled everything, nothing changes in
QBO for PASSES more passes (default 2, ~2 minutes), while every changed invoice and Payment
stays inside the poller's 5-minute overlap. Prints the idle QBO requests per realm per minute
(goal <= 1 at the default interval), then the requests a replay of `qbo.changes` makes against
its notice count: with what the reconciler remembers of its reads, and without it (a database
from before it remembered them: each invoice is read once per replay, not once per notice).
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Consumer, TopicPartition

from bench._env import base_settings, bench_settings, fresh_database
from consumers.runtime import kafka
from qbo import customer as customer_builder
from sandbox.testing import SandboxHandle, running_sandbox
from schemas.models import Customer
from sequence_qbo import samples, wiring
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.topics import ensure_topics

TIMEOUT = 600.0


def _wait(condition: Any, message: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise TimeoutError(message)


def _connect(app: wiring.Application, sb: SandboxHandle, account: str, realm: str) -> None:
    """The account connected to the realm, its customer linked, a fallback item set."""
    tokens = sb.token(realm)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    key = app.settings.token_encryption_key
    assert key is not None
    store_connection(
        app.db, key, account, realm, tokens["access_token"], tokens["refresh_token"], expires
    )
    client = app.clients.for_account(account)[1]
    made = client.create(
        "Customer",
        customer_builder.build_customer(Customer.model_validate(_customer())),
        request_id=f"idle-{realm}",
    )
    item = next(i for i in sb.objects(realm, "Item")["objects"] if i["Name"] == "Services")
    with app.db.transaction() as tx:
        tx.conn.execute(
            "insert into customer_links (account_id, customer_id, realm_id, qbo_customer_id, "
            "origin) values (%s, 'cus_idle', %s, %s, 'link')",
            (account, realm, made["Id"]),
        )
        tx.conn.execute(
            "insert into account_settings (account_id, fallback_item_id, fallback_tax_code_id) "
            "values (%s, %s, '3')",
            (account, item["Id"]),
        )


def _customer() -> dict[str, Any]:
    return samples.customer(
        "cus_idle", "Idle Ltd", "ap@idle.example", "1 St", "Leeds", "LS1", "GB", "TAXED"
    )


def _invoice(account: str, i: int) -> dict[str, Any]:
    line = samples.line("l1", "Plan", "1", "100.00", "100.00")
    return samples.invoice(
        f"{account}-{i}",
        _customer(),
        [samples.group("g", "Nov", [line])],
        number=f"{account[-4:]}-{i:04d}",
        net="100.00",
        tax="20.00",
        gross="120.00",
    )


@contextmanager
def _running(*loops: Any) -> Iterator[None]:
    stop = threading.Event()
    threads = [threading.Thread(target=loop.run, args=(stop,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


def _count(bootstrap: str, topic: str) -> int:
    """Records in `topic` (the sum of its partitions' high watermarks)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"n-{uuid.uuid4().hex}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        )
    finally:
        consumer.close()


def _stamp(sb: SandboxHandle, realm: str, entity: str, entity_id: str) -> dt.datetime:
    """The entity's LastUpdatedTime, through the emulator's admin API (not a QBO request)."""
    [obj] = [o for o in sb.objects(realm, entity)["objects"] if str(o["Id"]) == entity_id]
    return dt.datetime.fromisoformat(obj["MetaData"]["LastUpdatedTime"])


class Bench:
    def __init__(self, app: wiring.Application, sb: SandboxHandle, realms: dict[str, str]) -> None:
        self.app, self.sb, self.realms = app, sb, realms  # account → realm
        self.settings = app.settings
        self.serde = wiring.serde(self.settings)
        self.producer = kafka.producer(self.settings.kafka_bootstrap)

    def sync(self, per_realm: int) -> None:
        """Every account's invoices, through invoice.finalized and the consumers."""
        topic = self.settings.topics.invoice_finalized
        for account in self.realms:
            for i in range(per_realm):
                inv = _invoice(account, i)
                value = {**samples.envelope(account), "invoice": inv}
                encoded = self.serde.encode("invoice.finalized", topic, value)
                self.producer.produce(topic, key=inv["id"], value=encoded)
        self.producer.flush(30)
        wanted = per_realm * len(self.realms)
        runtime = self.app.runtime(self.app.handlers())
        with _running(runtime):
            _wait(lambda: self._synced() >= wanted, f"{wanted} invoices synced")

    def _synced(self) -> int:
        with self.app.db.transaction() as tx:
            row = tx.conn.execute(
                b"select count(*) as n from sync_ledger where status = 'synced'"
            ).fetchone()
        return int(row["n"]) if row else 0

    def pay_half(self) -> list[dt.datetime]:
        """Every other invoice paid, alternately in full and in part; Intuit's webhooks (each
        sent twice) on qbo.changes. Returns the stamps written."""
        stamps = []
        for account, realm in self.realms.items():
            client = self.app.clients.for_account(account)[1]
            with self.app.db.transaction() as tx:
                rows = tx.conn.execute(
                    b"select qbo_id from sync_ledger where account_id = %s and status = 'synced'"
                    b" order by sequence_id",
                    (account,),
                ).fetchall()
            invoices = [r["qbo_id"] for r in rows]
            for qbo_id in invoices:
                self._notice(account, realm, "Invoice", qbo_id, "Create")
            for n, qbo_id in enumerate(invoices[::2]):
                invoice = client.get("Invoice", qbo_id)
                total = Decimal(str(invoice["TotalAmt"]))
                amount = total if n % 2 == 0 else total / 2
                payment = client.create(
                    "Payment",
                    {
                        "CustomerRef": invoice["CustomerRef"],
                        "TotalAmt": amount,
                        "Line": [
                            {
                                "Amount": amount,
                                "LinkedTxn": [{"TxnId": qbo_id, "TxnType": "Invoice"}],
                            }
                        ],
                    },
                    request_id=f"pay-{uuid.uuid4().hex}",
                )
                stamps.append(self._notice(account, realm, "Payment", str(payment["Id"]), "Create"))
                stamps.append(self._notice(account, realm, "Invoice", qbo_id, "Update"))
        self.producer.flush(30)
        return stamps

    def _notice(
        self, account: str, realm: str, entity: str, entity_id: str, operation: str
    ) -> dt.datetime:
        """Intuit's webhook for the change, delivered twice; its LastUpdatedTime."""
        stamp = _stamp(self.sb, realm, entity, entity_id)
        key = f"{realm}/{entity}/{entity_id}/{int(stamp.timestamp() * 1000)}"
        value = {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
            "occurred_at": stamp,
            "account_id": account,
            "realm_id": realm,
            "entity": entity,
            "entity_id": entity_id,
            "operation": operation,
            "last_updated": stamp,
            "source": "WEBHOOK",
            "dedupe_key": key,
        }
        topic = self.settings.topics.qbo_changes
        encoded = self.serde.encode("qbo.changes", topic, value)
        for _ in range(2):
            self.producer.produce(topic, key=realm, value=encoded)
        return stamp

    def passes(self) -> dict[str, int]:
        """Completed CDC passes so far, per realm (a pass moves its realm's watermark)."""
        with self.app.db.transaction() as tx:
            rows = tx.conn.execute(b"select realm_id, watermark from cdc_watermarks").fetchall()
        return {r["realm_id"]: r["watermark"] for r in rows if r["watermark"] is not None}

    def requests(self, since: int) -> Counter[str]:
        """QBO requests per realm after the log position `since` (token calls left out)."""
        rows = self.sb.admin("GET", f"/requests?since={since}")["requests"]
        return Counter(r["realm"] for r in rows if r["realm"] in self.realms.values())

    def position(self) -> int:
        return int(self.sb.admin("GET", "/requests?entity=none")["last_seq"])

    def changes(self) -> int:
        return _count(self.settings.kafka_bootstrap, self.settings.topics.qbo_changes)

    def reconcile_all(self, runtime: Any) -> None:
        """Waits until `runtime` has reconciled every notice on qbo.changes."""
        _wait(lambda: runtime.processed >= self.changes(), "every notice reconciled")

    def reconciler(self) -> Any:
        """A runtime consuming qbo.changes alone, from its start, in a group of its own."""
        topic = self.settings.topics.qbo_changes
        handlers = {topic: self.app.handlers()[topic]}
        return self.app.runtime(handlers, group=f"reconcile-{uuid.uuid4().hex[:8]}")

    def replay(self) -> tuple[int, Counter[str]]:
        """qbo.changes from its start in a consumer group of its own: the requests it made."""
        runtime = self.reconciler()
        since = self.position()
        notices = self.changes()
        with _running(runtime):
            _wait(lambda: runtime.processed >= notices, "the replay reconciled")
        rows = self.sb.admin("GET", f"/requests?since={since}")["requests"]
        kinds = Counter(
            f"{r['method']} {r['entity'].lower()}"
            for r in rows
            if r["realm"] in self.realms.values()
        )
        return notices, kinds


def main(realms: int = 3, per_realm: int = 20, passes: int = 2) -> None:
    db_url = fresh_database(base_settings())
    with running_sandbox() as sb:  # QBO's own quotas
        settings = bench_settings(base_settings(), db_url, sb.base_url)
        ensure_topics(settings.kafka_bootstrap, settings.topics.all(), 6)
        with wiring.Application(settings) as app:
            accounts = {f"acct_idle{i}": sb.create_realm("UK") for i in range(realms)}
            for account, realm in accounts.items():
                _connect(app, sb, account, realm)
            bench = Bench(app, sb, accounts)
            bench.sync(per_realm)
            stamps = bench.pay_half()
            # A read begun after a stamp's second has seen every write carrying it.
            last = max(stamps)
            _wait(lambda: dt.datetime.now(dt.UTC) >= last + dt.timedelta(seconds=1), "stamps")
            runtime = bench.reconciler()
            interval = settings.cdc_interval_seconds
            with _running(runtime, *app.reconcile_loops()):
                first = _wait(lambda: len(p := bench.passes()) == realms and p, "a first pass")
                bench.reconcile_all(runtime)
                since = bench.position()
                seen = [first]

                def passed() -> bool:
                    now = bench.passes()
                    if all(now[r] != seen[-1][r] for r in accounts.values()):
                        seen.append(now)
                    return len(seen) > passes

                _wait(passed, f"{passes} idle passes", timeout=passes * interval + TIMEOUT)
                bench.reconcile_all(runtime)
                # The passes' own span (a watermark is its pass's start): PASSES intervals.
                span = max(seen[-1].values()) - max(seen[0].values())
                minutes = span.total_seconds() / 60
                idle = bench.requests(since)
            replayed, kinds = bench.replay()
            with app.db.transaction() as tx:
                tx.conn.execute(b"delete from qbo_reads")  # as before the reconciler kept them
            replayed_cold, kinds_cold = bench.replay()
    per_realm_minute = [idle[r] / minutes for r in accounts.values()]
    print(
        f"sizes: {realms} realms, {per_realm} invoices each ({per_realm // 2} paid, in full or "
        f"in part), CDC every {interval:.0f} s with a 5-minute overlap"
    )
    print(
        f"idle: {sum(idle.values())} QBO requests over {passes} CDC passes in {minutes:.2f} min: "
        f"{max(per_realm_minute):.2f} requests per realm per minute at most "
        f"(goal <= 1 at the default interval), {max(idle.values()) / passes:.2f} per realm per "
        f"pass; per realm: {dict(idle)}"
    )
    print(
        f"replay of qbo.changes, {replayed} notices about {realms * per_realm} invoices: "
        f"{sum(kinds.values())} QBO requests {dict(kinds)}"
    )
    print(
        f"the same replay without what was read (a database from before migration 0015): "
        f"{sum(kinds_cold.values())} QBO requests {dict(kinds_cold)}, "
        f"{kinds_cold['GET invoice']} invoice reads for {realms * per_realm} invoices"
    )
    assert replayed_cold == replayed


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
