"""A test handler with controllable latency and failures, its JSON decoder, and helpers to run
the concurrent runtime against the real broker. Effects are recorded idempotently in PostgreSQL.

Message values are JSON: {"id", "account_id", "key", "seq", and optional "poison": true,
"fail_times": n (raise n times, then succeed), "throttle": n (Retry with a wait n times)}.

Exactly-once is judged on `test_delivery_log`: one row per completed handling (which worker,
which partition and offset), appended in the effect's own transaction, with no unique key, so a
message handled twice shows as two rows (`test_effects` is idempotent and cannot show it).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import defaultdict
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from consumers.runtime import kafka
from consumers.runtime.concurrent import ConcurrentRuntime, RuntimeOptions
from consumers.runtime.engine import EngineOptions
from consumers.runtime.types import Done, Event, Message, Outcome, Poison, Retry
from publishing import KafkaPublisher
from schemas.serde import UndecodableMessage

EFFECTS_DDL = """
create table if not exists test_effects (
  id text primary key, key text not null, seq int not null, applied_at timestamptz default now());
create table if not exists test_deliveries (id text primary key, n int not null);
create table if not exists test_delivery_log (
  id text not null, worker text not null, topic text not null, part int not null,
  off bigint not null, at timestamptz not null default clock_timestamp());
"""


class JsonDecoder:
    def decode(self, event: str, data: bytes | None) -> dict[str, Any]:
        try:
            value = json.loads(data or b"")
        except ValueError as exc:
            raise UndecodableMessage(f"not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise UndecodableMessage("not a JSON object")
        return value


def create_tables(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(EFFECTS_DDL)


def effects(db_url: str) -> dict[str, int]:
    """id → how many effect rows (the primary key makes more than one impossible)."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("select id, count(*) from test_effects group by id").fetchall()
    return dict(rows)


def deliveries(db_url: str) -> dict[str, int]:
    with psycopg.connect(db_url) as conn:
        return dict(conn.execute("select id, n from test_deliveries").fetchall())


def delivery_log(db_url: str) -> list[tuple[str, str, int, int]]:
    """Every completed handling, in order: (id, worker, partition, offset)."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "select id, worker, part, off from test_delivery_log order by at"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


class TestHandler:
    """Sleeps `latency()` seconds, then applies the effect once per id (ON CONFLICT DO NOTHING)."""

    event = "test.event"
    __test__ = False  # not a pytest class

    def __init__(
        self, db_url: str | None = None, *, latency: Any = None, worker: str | None = None
    ) -> None:
        self.worker = worker or str(os.getpid())  # names this handler in the delivery log
        self.pool = ConnectionPool(db_url, min_size=1, max_size=16, open=True) if db_url else None
        self.latency = latency or (lambda _v: 0.0)
        self.lock = threading.Lock()
        self.seen: dict[str, list[int]] = defaultdict(list)  # key → seq in handling order
        self.done_at: dict[str, float] = {}  # id → monotonic time of its Done
        self.attempts: dict[str, int] = defaultdict(int)
        self.poison_ids: set[str] = set()
        self.running = 0
        self.peak = 0  # most handler calls seen running at once
        self.group_running: dict[str, int] = defaultdict(int)
        self.group_peak: dict[str, int] = defaultdict(int)  # the same, per account

    def handle(self, event: Event) -> Outcome:
        account = event.account_id
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.group_running[account] += 1
            self.group_peak[account] = max(self.group_peak[account], self.group_running[account])
        try:
            return self._handle(event.value, event.message)
        finally:
            with self.lock:
                self.running -= 1
                self.group_running[account] -= 1

    def _handle(self, v: dict[str, Any], message: Message) -> Outcome:
        with self.lock:
            self.attempts[v["id"]] += 1
            attempt = self.attempts[v["id"]]
        if v.get("poison") or v["id"] in self.poison_ids:
            return Poison("InvalidEvent", f"event {v['id']} is poison")
        if attempt <= v.get("throttle", 0):
            return Retry("429 Too Many Requests", after=v.get("throttle_after", 0.5), scope="realm")
        if attempt <= v.get("fail_times", 0):
            raise ConnectionError(f"flaky dependency on attempt {attempt}")
        self._work(self.latency(v))  # the handler's own work (a QBO call), not a wait
        self._apply(v, message)
        with self.lock:
            self.seen[v["key"]].append(v["seq"])
            self.done_at[v["id"]] = time.monotonic()
        return Done("updated")

    @staticmethod
    def _work(seconds: float) -> None:
        """Stands in for the time a real handler spends in QBO."""
        threading.Event().wait(seconds)

    def _apply(self, v: dict[str, Any], message: Message) -> None:
        if self.pool is None:
            return
        with self.pool.connection() as conn:
            conn.execute(
                "insert into test_effects (id, key, seq) values (%s, %s, %s) "
                "on conflict do nothing",
                (v["id"], v["key"], v["seq"]),
            )
            conn.execute(
                "insert into test_deliveries values (%s, 1) "
                "on conflict (id) do update set n = test_deliveries.n + 1",
                (v["id"],),
            )
            conn.execute(
                "insert into test_delivery_log (id, worker, topic, part, off) "
                "values (%s, %s, %s, %s, %s)",
                (v["id"], self.worker, message.topic, message.partition, message.offset),
            )

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def random_latency(low: float, high: float, seed: int = 1) -> Any:
    rng = random.Random(seed)
    return lambda _v: rng.uniform(low, high)


def records(
    n_keys: int, per_key: int, accounts: int = 20, prefix: str = "m", **extra: Any
) -> list[tuple[str, bytes]]:
    """Messages interleaved across keys: seq 0 of every key, then seq 1, …"""
    out = []
    for seq in range(per_key):
        for k in range(n_keys):
            value = {
                "id": f"{prefix}-{k}-{seq}",
                "account_id": f"acct_{k % accounts}",
                "key": f"k{k}",
                "seq": seq,
                **extra,
            }
            out.append((f"k{k}", json.dumps(value).encode()))
    return out


def runtime(
    bootstrap: str, topic: str, group: str, dlq_topic: str, handler: TestHandler, **engine: Any
) -> ConcurrentRuntime:
    options = RuntimeOptions(
        engine=EngineOptions(**{"backoff_base": 0.05, **engine}),
        revoke_deadline=10.0,
        shutdown_deadline=10.0,
        lag_every=0.5,
    )
    return ConcurrentRuntime(
        # A short session so the group notices a SIGKILLed member quickly (broker minimum: 6 s).
        consumer=kafka.consumer(
            bootstrap,
            group,
            **{
                "auto.commit.interval.ms": 200,
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 1000,
            },
        ),
        dead_letters=KafkaPublisher(bootstrap),
        serde=JsonDecoder(),
        handlers={topic: handler},
        dlq_topic=dlq_topic,
        options=options,
    )
