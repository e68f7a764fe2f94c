"""Many accounts busy at once, with `sequence-qbo run`'s defaults (threads, per-account limit,
pool size): every invoice synced exactly once, customers auto-created, no pool timeout.

Before the short transactions, 4 accounts and 120 invoices dead-locked the pool (a sync held
one connection across QBO and asked for a second)."""

from __future__ import annotations

import argparse
import logging
import time

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from consumers.runtime.concurrent import RuntimeOptions
from consumers.runtime.engine import EngineOptions
from schemas import serde
from sequence_qbo import wiring
from sequence_qbo.commands import run as run_command
from sequence_qbo.settings import Settings
from tests.helpers import wait_until
from tests.integration.harness import produce, running
from tests.integration.monthend.world import Records, connect_accounts, count, realm_of

pytestmark = pytest.mark.integration

ACCOUNTS = 20
INVOICES = 50  # per account: 20 x 50 = 1,000 at once, about 20-25 s on a 2-core machine
CUSTOMERS = 5  # per account, each auto-created by the first of its 10 invoices to get there


def _run_defaults() -> argparse.Namespace:
    """The options `sequence-qbo run` starts with when given none."""
    parser = argparse.ArgumentParser()
    run_command.register(parser.add_subparsers())
    return parser.parse_args(["run"])


def _events(settings: Settings, registry_url: str, accounts: list[str]) -> list[tuple[str, bytes]]:
    records = Records(settings, registry_url)
    return [
        records.invoice(account, f"inv_{a}_{n}", f"M-{a}-{n}", f"cus_{n % CUSTOMERS}")
        for n in range(INVOICES)  # interleaved: every account busy from the first record on
        for a, account in enumerate(accounts)
    ]


def test_20_accounts_x_50_invoices_at_once_with_runs_defaults(
    settings: Settings, qbo_sandbox, schema_registry_url, caplog
) -> None:
    defaults = _run_defaults()
    assert (defaults.threads, defaults.group_limit, settings.db_pool_max) == (128, 60, 20)
    connected, accounts = connect_accounts(settings, qbo_sandbox, ACCOUNTS)
    records = _events(connected, schema_registry_url, accounts)
    total = ACCOUNTS * INVOICES
    caplog.set_level(logging.WARNING)
    codec = serde.Serde(
        serde.RegistryResolver(
            "unused", client=SchemaRegistryClient.new_client({"url": schema_registry_url})
        )
    )
    with wiring.Application(connected, serde_=codec) as app:  # the pool `run` opens
        options = RuntimeOptions(
            engine=EngineOptions(max_in_flight=defaults.threads, group_limit=defaults.group_limit)
        )
        runtime = app.runtime(app.handlers(), options=options)
        produce(connected.kafka_bootstrap, connected.topics.invoice_finalized, records)
        started = time.monotonic()
        with running(runtime):
            wait_until(
                lambda: (
                    count(app.db, "select count(*) as n from sync_ledger where status = 'synced'")
                    == total
                ),
                timeout=240,
                interval=0.5,
                message=f"{total} invoices synced",
            )
        elapsed = time.monotonic() - started
        problems = count(
            app.db, "select count(*) as n from sync_attempts where outcome <> 'synced'"
        )
    print(f"\n{total} invoices over {ACCOUNTS} accounts synced in {elapsed:.1f}s")
    # psycopg_pool's "couldn't get a connection after 30.00 sec", in any log or error.
    timeouts = [r.getMessage() for r in caplog.records if "get a connection" in r.getMessage()]
    assert timeouts == [], timeouts[:3]
    assert problems == 0  # no retrying (no pool timeout, no database trouble), nothing failed
    setup = wiring.database(connected).open()
    try:
        realms = [realm_of(setup, account) for account in accounts]
    finally:
        setup.close()
    in_qbo = 0
    for realm in realms:
        invoices = qbo_sandbox.objects(realm, "Invoice")["objects"]
        assert len({i["DocNumber"] for i in invoices}) == len(invoices) == INVOICES
        names = sorted(c["DisplayName"] for c in qbo_sandbox.objects(realm, "Customer")["objects"])
        assert names == [f"Customer cus_{c}" for c in range(CUSTOMERS)]  # one each, none twice
        in_qbo += len(invoices)
    assert in_qbo == total
