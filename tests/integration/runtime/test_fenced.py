"""Two `run` processes given the same --instance-id: Kafka fences the older one, which exits
non-zero saying why (for a supervisor, and an operator), instead of running on without
partitions."""

from __future__ import annotations

import signal

import pytest

from tests.helpers import wait_until
from tests.integration.runtime.processes import produce_customers, snapshots, start_run

pytestmark = pytest.mark.integration

SAME_INSTANCE = ("--text-logs", "--instance-id", "the-same-one")


def test_a_second_process_with_the_same_instance_id_fences_the_first(
    settings, db, tmp_path
) -> None:
    produce_customers(settings, 0, 3)
    first = start_run(settings, tmp_path / "first.log", *SAME_INSTANCE)
    second = None
    try:
        wait_until(lambda: snapshots(db) == 3, timeout=60, message="the first one consuming")
        second = start_run(settings, tmp_path / "second.log", *SAME_INSTANCE)
        code = first.wait(60)
        produce_customers(settings, 3, 3)
        wait_until(lambda: snapshots(db) == 6, timeout=60, message="the second one consuming")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(60)
    assert code == 1
    log = (tmp_path / "first.log").read_text()
    assert "stopping: the consumer cannot go on" in log
    assert "instance" in log.lower() and "fenced" in log.lower()
