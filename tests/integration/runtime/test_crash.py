"""A worker process killed with SIGKILL mid-stream, then restarted: every message is handled
at least once, and twice only where the crash allows it. Counted in the append-only delivery log
(no unique key), against the group's committed offsets read after the kill: a message below the
committed position is handled exactly once (committed work is never redone, nothing committed
was skipped), no worker handles a message twice, and the restarted worker starts at the committed
position. SIGTERM shuts down gracefully (exit 0)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.helpers import wait_until
from tests.integration.harness import produce
from tests.integration.runtime.support import create_tables, delivery_log, effects, records

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
    resume = {p: max(offset, 0) for p, offset in _committed(settings).items()}  # -1001: none
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
    log = delivery_log(db_url)
    handled = Counter(mid for mid, _worker, _part, _off in log)
    assert set(handled) == {f"m-{k}-{s}" for k in range(n_keys) for s in range(per_key)}
    by_worker = Counter((mid, worker) for mid, worker, _part, _off in log)
    assert max(by_worker.values()) == 1, "a worker handled a message twice"
    committed_twice = [mid for mid, _w, part, off in log if off < resume[part] and handled[mid] > 1]
    assert not committed_twice, f"committed work redone: {committed_twice[:5]}"
    restarted = str(second.pid)
    behind = [(part, off) for _m, w, part, off in log if w == restarted and off < resume[part]]
    assert not behind, f"the restarted worker read below the committed position: {behind[:5]}"
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
