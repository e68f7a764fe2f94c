"""`sequence-qbo run` SIGKILLed and restarted at once consumes again within seconds: static group
membership (the host name as `group.instance.id`) gives the restarted process its partitions
back without waiting for the dead member's 45 s session to expire."""

from __future__ import annotations

import signal
import time

import pytest

from tests.helpers import wait_until
from tests.integration.runtime.processes import produce_customers, snapshots, start_run

pytestmark = pytest.mark.integration

RESUME_LIMIT = 10.0  # seconds from the restart to every partition consumed again


def test_a_sigkilled_run_resumes_within_seconds_of_its_restart(settings, db, tmp_path) -> None:
    log = tmp_path / "run.log"
    produce_customers(settings, 0, 6)
    first = start_run(settings, log)
    try:
        wait_until(lambda: snapshots(db) == 6, timeout=60, interval=0.1, message="6 snapshots")
    finally:
        first.kill()  # SIGKILL: no LeaveGroup, no commit
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    # Every partition has new work for the restarted process.
    assert produce_customers(settings, 6, 30) == {0, 1, 2}

    restarted_at = time.monotonic()
    second = start_run(settings, log)
    try:
        wait_until(
            lambda: snapshots(db) == 36,
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
