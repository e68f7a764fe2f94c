"""`sequence-qbo run` SIGKILLed and restarted at once consumes again within seconds: static group
membership (the host name as `group.instance.id`) gives the restarted process its partitions
back without waiting for the dead member's 45 s session to expire."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from consumers.runtime import kafka
from schemas import serde
from sequence_qbo import samples
from store import customers
from tests.helpers import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
RESUME_LIMIT = 10.0  # seconds from the restart to every partition consumed again


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    env.update(
        {
            "SEQUENCE_QBO_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SEQUENCE_QBO_DATABASE_URL": settings.database_url.get_secret_value(),
            "SEQUENCE_QBO_CONSUMER_GROUP": settings.consumer_group,
            "SEQUENCE_QBO_TOPIC_CUSTOMER_UPDATED": settings.topics.customer_updated,
            "SEQUENCE_QBO_TOPIC_DLQ": settings.topics.dlq,
            "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
    )
    return env


def _produce(settings, first: int, n: int) -> set[int]:
    """n customer.updated events; returns the partitions they went to."""
    topic = settings.topics.customer_updated
    codec, producer = serde.make_serde(None), kafka.producer(settings.kafka_bootstrap)
    partitions: set[int] = set()
    for i in range(first, first + n):
        value = samples.numbered_customer_event("acct_resume", i)
        producer.produce(
            topic,
            key=f"cus_{i}",
            value=codec.encode("customer.updated", topic, value),
            on_delivery=lambda err, msg: partitions.add(msg.partition()) if not err else None,
        )
    assert producer.flush(30) == 0
    return partitions


def _start(settings, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sequence_qbo",
            "run",
            "--no-metrics",
            "--only",
            settings.topics.customer_updated,
        ],
        cwd=ROOT,
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _snapshots(db) -> int:
    return len(customers.list_snapshots(db, "acct_resume", 1000))


def test_a_sigkilled_run_resumes_within_seconds_of_its_restart(settings, db, tmp_path) -> None:
    log = tmp_path / "run.log"
    _produce(settings, 0, 6)
    first = _start(settings, log)
    try:
        wait_until(lambda: _snapshots(db) == 6, timeout=60, interval=0.1, message="6 snapshots")
    finally:
        first.kill()  # SIGKILL: no LeaveGroup, no commit
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    # Every partition has new work for the restarted process.
    assert _produce(settings, 6, 30) == {0, 1, 2}

    restarted_at = time.monotonic()
    second = _start(settings, log)
    try:
        wait_until(
            lambda: _snapshots(db) == 36,
            timeout=90,
            interval=0.05,
            message="the 30 events produced while it was down",
        )
        resumed = time.monotonic() - restarted_at
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(60)
    print(f"\nresumed {resumed:.1f} s after the restart (process start-up included)")
    assert code == 0, log.read_text()[-3000:]
    assert resumed <= RESUME_LIMIT, f"resumed after {resumed:.1f} s"
