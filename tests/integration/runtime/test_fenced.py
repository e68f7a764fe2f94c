"""Two `run` processes given the same --instance-id: Kafka fences the older one, which exits
non-zero saying why (for a supervisor, and an operator), instead of running on without
partitions."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import wait_until
from tests.integration.runtime.test_resume import ROOT, _env, _produce, _snapshots

pytestmark = pytest.mark.integration


def _start(settings, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sequence_qbo",
            "run",
            "--no-metrics",
            "--text-logs",
            "--instance-id",
            "the-same-one",
            "--only",
            settings.topics.customer_updated,
        ],
        cwd=ROOT,
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )


def test_a_second_process_with_the_same_instance_id_fences_the_first(
    settings, db, tmp_path
) -> None:
    _produce(settings, 0, 3)
    first = _start(settings, tmp_path / "first.log")
    second = None
    try:
        wait_until(lambda: _snapshots(db) == 3, timeout=60, message="the first one consuming")
        second = _start(settings, tmp_path / "second.log")
        code = first.wait(60)
        _produce(settings, 3, 3)
        wait_until(lambda: _snapshots(db) == 6, timeout=60, message="the second one consuming")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
    assert code == 1
    log = (tmp_path / "first.log").read_text()
    assert "stopping: the consumer cannot go on" in log
    assert "instance" in log.lower() and "fenced" in log.lower()
