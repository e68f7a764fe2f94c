"""`sequence-qbo demo`, the README's first command, run as a user would (a subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from sequence_qbo.settings import Settings

pytestmark = pytest.mark.integration


def test_the_demo_syncs_documents_and_shows_invoice_paid(settings: Settings) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    env.update(
        {
            "SEQUENCE_QBO_DATABASE_URL": settings.database_url.get_secret_value(),
            "SEQUENCE_QBO_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SEQUENCE_QBO_CONSUMER_GROUP": settings.consumer_group,
            "SEQUENCE_QBO_TOPIC_PARTITIONS": "3",
            "COLUMNS": "200",
        }
    )
    for field, topic in settings.topics.model_dump().items():
        env[f"SEQUENCE_QBO_TOPIC_{field.upper()}"] = topic
    done = subprocess.run(
        [sys.executable, "-m", "sequence_qbo", "demo", "--timeout", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "customer snapshots stored from customer.updated" in out
    assert 'O\'Brien & Sons "UK"' in out
    assert "customer_not_linked" in out and "doc_number_too_long" in out
    assert "voided" in out
    assert "invoice.paid on" in out and "122.22" in out and "inv_1001" in out
    # a part, the rest, the second Payment deleted: one version each
    assert "invoice.payment_status_changed on" in out
    states = re.findall(r"│ (\d+) +│ (UNPAID|PARTIALLY_PAID|PAID) +│", out)
    assert states == [("1", "PARTIALLY_PAID"), ("2", "PAID"), ("3", "PARTIALLY_PAID")], out
