"""`sequence-qbo run` runs the reconciler, the outbox relay and the CDC poller together; and
`sequence-qbo paid list` shows what they recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.serde import make_serde
from sequence_qbo import cli
from sequence_qbo.settings import Settings
from tests.helpers import wait_until
from tests.integration.harness import read_all
from tests.integration.reconcile.world import Reconciling

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _env(settings: Settings) -> dict[str, str]:
    """The service's environment for these settings (local schema mode: no registry)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    env.update(
        {
            f"SEQUENCE_QBO_TOPIC_{field.upper()}": name
            for field, name in settings.topics.model_dump().items()
        }
    )
    env.update(
        {
            "SEQUENCE_QBO_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SEQUENCE_QBO_DATABASE_URL": settings.database_url.get_secret_value(),
            "SEQUENCE_QBO_CONSUMER_GROUP": settings.consumer_group,
            "SEQUENCE_QBO_QBO_ENVIRONMENT": "emulator",
            "SEQUENCE_QBO_QBO_BASE_URL": str(settings.qbo_base_url),
            "SEQUENCE_QBO_QBO_CLIENT_ID": "test-client",
            "SEQUENCE_QBO_QBO_CLIENT_SECRET": "test-secret",
            "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY": settings.token_encryption_key.get_secret_value(),
            "SEQUENCE_QBO_CDC_INTERVAL_SECONDS": "0.5",
            "COLUMNS": "250",
        }
    )
    return env


def test_run_alone_turns_a_qbo_payment_into_invoice_paid(
    world: Reconciling, tmp_path, monkeypatch, capsys
) -> None:
    qbo_id = world.invoice("inv_run", number="RUN-1")
    env = _env(world.c.settings)
    log = tmp_path / "run.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sequence_qbo", "run", "--no-metrics"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        wait_until(
            lambda: (w := world.watermark()) and w["watermark"] is not None,
            timeout=60,
            message="the poller's first pass",
        )
        payment = world.pay(qbo_id, "122.22", on="2026-11-22")
        [record] = read_all(
            world.c.settings.kafka_bootstrap, world.c.settings.topics.invoice_paid, 1, timeout=60
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, log.read_text()[-3000:]
    assert world.count(world.c.settings.topics.invoice_paid) == 1
    event = make_serde(None).decode("invoice.paid", record.value())
    assert (record.key(), event["qbo_payment_ids"], event["amount_paid"]) == (
        b"inv_run",
        [payment],
        "122.22",
    )
    for name, value in env.items():
        if name.startswith("SEQUENCE_QBO_") or name == "COLUMNS":
            monkeypatch.setenv(name, value)
    assert cli.main(["paid", "list", "--status", "paid"]) == 0
    out = capsys.readouterr().out
    assert "inv_run" in out and "122.22" in out and "sent " in out
