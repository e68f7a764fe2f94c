"""Fair scheduling end to end: while three realms' backlogs want more handler threads than
the process has (3 x 30 > 64), a quiet realm's one invoice syncs within seconds instead of
waiting behind them (real Kafka, PostgreSQL and the emulator; QBO's own quotas per realm)."""

from __future__ import annotations

import time

import pytest

from sequence_qbo.settings import Settings
from tests.helpers import wait_until
from tests.integration.monthend.world import Records, connect_accounts, consuming, count, send

pytestmark = pytest.mark.integration

BUSY, BACKLOG = 3, 300
SYNCED = "select count(*) as n from sync_ledger where account_id = %s and status = 'synced'"


def test_a_quiet_realms_invoice_is_not_delayed_by_busy_realms_backlogs(
    settings: Settings, qbo_sandbox, schema_registry_url
) -> None:
    connected, accounts = connect_accounts(settings, qbo_sandbox, BUSY + 1)
    *busy, quiet = accounts
    records = Records(connected, schema_registry_url)
    send(
        connected,
        [
            records.invoice(account, f"{a}-{n}", f"BUSY-{a}-{n}")
            for n in range(BACKLOG)
            for a, account in enumerate(busy)
        ],
    )
    with consuming(connected, schema_registry_url) as app:
        # The burst at its peak: every busy realm has started and holds its handlers.
        wait_until(
            lambda: all(count(app.db, SYNCED, a) >= 10 for a in busy),
            timeout=60,
            interval=0.2,
            message="the busy realms under way",
        )
        send(connected, [records.invoice(quiet, "q-1", "QUIET-1")])
        produced = time.monotonic()
        wait_until(
            lambda: count(app.db, SYNCED, quiet) == 1,
            timeout=60,
            interval=0.05,
            message="the quiet realm's invoice synced",
        )
        latency = time.monotonic() - produced
        left = sum(BACKLOG - count(app.db, SYNCED, a) for a in busy)
    print(f"\nquiet realm: event -> synced {latency:.2f}s with {left} busy invoices left")
    assert left >= BUSY * BACKLOG // 3  # the backlog was still there
    assert latency < 5.0, latency
