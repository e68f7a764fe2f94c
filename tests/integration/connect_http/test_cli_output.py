"""The CLI on real PostgreSQL and Kafka: `connections list --json` and at 80 columns, and
`replay --from-beginning`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.fernet import Fernet

from consumers.runtime import kafka
from schemas import serde
from sequence_qbo import cli, samples
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings
from store import connections
from store.db import Database
from tests.helpers import service_env

pytestmark = pytest.mark.integration

ACCOUNT = "acct_0f4b2d9e8c7a6b5d4e3f2a1b"  # longer than an 80-column table leaves for it


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in service_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "80")
    return settings


def test_connections_list_as_json_and_at_80_columns(env: Settings, db: Database, capsys) -> None:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    key = Fernet.generate_key().decode()
    store_connection(db, key, ACCOUNT, "9130355123456789012", "at", "rt", expires)
    connections.set_company_name(db, ACCOUNT, "9130355123456789012", "Sandbox Company_US_1")

    assert cli.main(["connections", "list", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["account"] == ACCOUNT and row["realm"] == "9130355123456789012"
    assert row["company"] == "Sandbox Company_US_1" and row["status"] == "active"
    assert row["status_reason"] is None and row["access_token_expires"].startswith("20")

    assert cli.main(["connections", "list"]) == 0
    out = capsys.readouterr().out
    assert ACCOUNT in out and "9130355123456789012" in out and "…" not in out


def test_replay_from_the_beginning(env: Settings, db: Database, capsys) -> None:
    topic = env.topics.customer_updated
    long_ago = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    codec = serde.make_serde(None)
    producer = kafka.producer(env.kafka_bootstrap)
    for i in range(3):
        value = samples.numbered_customer_event("acct_fb", i, long_ago)
        data = codec.encode("customer.updated", topic, value)
        producer.produce(
            topic, key=f"cus_{i}", value=data, timestamp=int(long_ago.timestamp() * 1000)
        )
    assert producer.flush(30) == 0

    assert cli.main(["replay", "--topic", topic, "--from-beginning", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "the beginning →" in " ".join(out.split())  # the title, wrapped to the table
    assert out.strip().splitlines()[-1] == "read 3, decodable 3, undecodable 0"
    # A --from after those records reads none of them.
    assert cli.main(["replay", "--topic", topic, "--from", "2002-01-01", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("read 0,")


def test_the_topics_checked_early_are_the_topics_run_consumes(settings: Settings) -> None:
    from pydantic import SecretStr

    from sequence_qbo import wiring
    from sequence_qbo.commands import _common

    configured = settings.model_copy(
        update={
            "token_encryption_key": SecretStr(Fernet.generate_key().decode()),
            "qbo_environment": "emulator",
            "qbo_base_url": "http://127.0.0.1:9",
        }
    )
    with wiring.Application(configured) as app:
        assert sorted(app.handlers()) == sorted(_common.input_topics(configured))
