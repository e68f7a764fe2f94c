"""`sequence-qbo run` as an operator starts it: the concurrent runtime, Prometheus metrics,
JSON logs, and a graceful exit 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _produce(settings, n: int) -> None:
    topic = settings.topics.customer_updated
    codec, producer = serde.make_serde(None), kafka.producer(settings.kafka_bootstrap)
    for i in range(n):
        value = samples.numbered_customer_event("acct_run", i)
        producer.produce(
            topic, key=f"cus_{i}", value=codec.encode("customer.updated", topic, value)
        )
    assert producer.flush(30) == 0


def test_run_serves_metrics_logs_json_and_stops_on_sigterm(settings, db, tmp_path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    env.update(
        {
            "SEQUENCE_QBO_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SEQUENCE_QBO_DATABASE_URL": settings.database_url.get_secret_value(),
            "SEQUENCE_QBO_CONSUMER_GROUP": settings.consumer_group,
            "SEQUENCE_QBO_TOPIC_CUSTOMER_UPDATED": settings.topics.customer_updated,
            "SEQUENCE_QBO_TOPIC_DLQ": settings.topics.dlq,
            "SEQUENCE_QBO_METRICS_PORT": str(port),
            "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
    )
    _produce(settings, 5)
    log = tmp_path / "run.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sequence_qbo", "run", "--only", settings.topics.customer_updated],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        wait_until(
            lambda: len(customers.list_snapshots(db, "acct_run", 100)) == 5,
            timeout=60,
            interval=0.2,
            message="5 snapshots",
        )
        # The counter moves after the handler's commit, so the fifth snapshot can be visible a
        # moment before the fifth count: wait for the count itself.
        topic = settings.topics.customer_updated
        processed = f'sequence_qbo_messages_processed_total{{outcome="updated",topic="{topic}"}}'
        metrics = wait_until(
            lambda: _metrics_once(port, f"{processed} 5.0"),
            timeout=10,
            message="the metrics endpoint counting 5 processed",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, log.read_text()[-3000:]
    assert f"{processed} 5.0" in metrics
    assert "sequence_qbo_handler_seconds_bucket" in metrics
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(line["message"].startswith("consuming") for line in lines)
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)


def _metrics_once(port: int, line: str) -> str | None:
    """The metrics page once it holds `line`: None until then."""
    page = _metrics(port)
    return page if page is not None and line in page else None


def _metrics(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            return resp.read().decode()
    except OSError:
        return None
