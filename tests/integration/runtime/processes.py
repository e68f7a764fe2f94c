"""`sequence-qbo run` as a real process (its own environment, log file and signals) over
customer.updated events produced to the real broker; what it consumed is counted in PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from consumers.runtime import kafka
from schemas import serde
from sequence_qbo import samples
from store import customers
from store.db import Database
from tests.helpers import process_env, service_env

ROOT = Path(__file__).resolve().parents[3]
ACCOUNT = "acct_resume"


def run_env(settings: Any) -> dict[str, str]:
    """The process's environment: these settings, none of the caller's SEQUENCE_QBO_*."""
    return process_env(service_env(settings))


def produce_customers(settings: Any, first: int, n: int) -> set[int]:
    """n customer.updated events of ACCOUNT; returns the partitions they went to."""
    topic = settings.topics.customer_updated
    codec, producer = serde.make_serde(None), kafka.producer(settings.kafka_bootstrap)
    partitions: set[int] = set()
    for i in range(first, first + n):
        value = samples.numbered_customer_event(ACCOUNT, i)
        producer.produce(
            topic,
            key=f"cus_{i}",
            value=codec.encode("customer.updated", topic, value),
            on_delivery=lambda err, msg: partitions.add(msg.partition()) if not err else None,
        )
    assert producer.flush(30) == 0
    return partitions


def start_run(settings: Any, log: Path, *options: str) -> subprocess.Popen[bytes]:
    """`sequence-qbo run --no-metrics <options> --only customer.updated`, its stderr appended
    to `log` (a restarted process adds to the same file)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sequence_qbo",
            "run",
            "--no-metrics",
            *options,
            "--only",
            settings.topics.customer_updated,
        ],
        cwd=ROOT,
        env=run_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def snapshots(db: Database) -> int:
    """How many of ACCOUNT's customers the process has stored."""
    return len(customers.list_snapshots(db, ACCOUNT, 1000))
