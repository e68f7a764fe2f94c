"""A worker process killed with SIGKILL mid-stream, then restarted: every message is processed
at least once and every effect applied exactly once. SIGTERM shuts down gracefully (exit 0)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.helpers import wait_until
from tests.integration.harness import produce
from tests.integration.runtime.support import create_tables, deliveries, effects, records

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _worker(settings, db_url: str, log: Path) -> subprocess.Popen:
    args = [
        settings.kafka_bootstrap,
        settings.topics.customer_updated,
        settings.consumer_group,
        settings.topics.dlq,
        db_url,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.runtime.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_sigkill_then_restart_applies_every_effect_exactly_once(settings, db_url, tmp_path) -> None:
    create_tables(db_url)
    n_keys, per_key = 100, 30
    total = n_keys * per_key
    produce(settings.kafka_bootstrap, settings.topics.customer_updated, records(n_keys, per_key))
    first = _worker(settings, db_url, tmp_path / "first.log")
    try:
        wait_until(
            lambda: len(effects(db_url)) >= total // 4,
            timeout=60,
            interval=0.1,
            message="a quarter of the effects",
        )
    finally:
        first.kill()  # SIGKILL: no revoke, no commit, in-flight work lost mid-way
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    killed_at = len(effects(db_url))
    assert killed_at < total, "the worker finished before it could be killed"

    second = _worker(settings, db_url, tmp_path / "second.log")
    try:
        wait_until(
            lambda: len(effects(db_url)) == total,
            timeout=120,
            interval=0.2,
            message="every effect after the restart",
        )
    finally:
        code = _stop(second)
    assert code == 0, (tmp_path / "second.log").read_text()[-3000:]
    applied = effects(db_url)
    assert set(applied) == {f"m-{k}-{s}" for k in range(n_keys) for s in range(per_key)}
    assert set(applied.values()) == {1}
    assert sum(deliveries(db_url).values()) >= total
    # The graceful stop committed everything: the group's position is the end of each partition.
    assert _committed(settings) == _ends(settings)


def _committed(settings) -> dict[int, int]:
    topic = settings.topics.customer_updated
    c = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": settings.consumer_group}
    )
    try:
        return {
            tp.partition: tp.offset
            for tp in c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
        }
    finally:
        c.close()


def _ends(settings) -> dict[int, int]:
    topic = settings.topics.customer_updated
    c = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "ends"})
    try:
        return {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(3)
        }
    finally:
        c.close()
