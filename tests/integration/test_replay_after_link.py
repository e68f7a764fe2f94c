"""Replays cost nothing: a customer whose `customer.updated` was consumed before it was linked
to an existing QBO customer, then every input topic replayed from the start through the whole
service (a new consumer group): zero QBO writes, counted in the emulator's request log."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from publishing import KafkaPublisher
from sequence_qbo import cli
from store import customers as snapshots
from store.db import Database
from sync import customers
from sync.publish import Publishing
from tests.helpers import wait_until
from tests.integration.harness import running
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world, one_line_invoice

pytestmark = pytest.mark.integration


@pytest.fixture
def world(db: Database, settings: Any, qbo_sandbox: Any, schema_registry_url: str) -> World:
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.settings(fallback_item_id=w.item_id(), fallback_tax_code_id="3")
    return w


def _customer_writes(w: World) -> list[dict[str, Any]]:
    return [
        r for r in w.c.requests() if r["method"] == "POST" and r["entity"].lower() == "customer"
    ]


def _replay_command(
    w: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    registry_url: str,
    topic: str,
) -> str:
    """`sequence-qbo replay --topic T --from <long ago>`, in-process; its printed summary."""
    s = w.c.settings
    env = {
        "DATABASE_URL": s.database_url.get_secret_value(),
        "KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "QBO_ENVIRONMENT": s.qbo_environment,
        "QBO_BASE_URL": s.qbo_base_url,
        "TOKEN_ENCRYPTION_KEY": s.token_encryption_key.get_secret_value(),  # type: ignore[union-attr]
        "SCHEMA_REGISTRY_URL": registry_url,
        "CONSUMER_GROUP": s.consumer_group,
        **{f"TOPIC_{k.upper()}": v for k, v in s.topics.model_dump().items()},
    }
    for name, value in env.items():
        if value is not None:
            monkeypatch.setenv(f"SEQUENCE_QBO_{name}", str(value))
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    assert cli.main(["replay", "--topic", topic, "--from", "2000-01-01T00:00"]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]  # the line "for scripts"


def test_a_customer_linked_after_its_snapshot_costs_no_qbo_write_on_replay(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    schema_registry_url: str,
) -> None:
    account = world.c.account_id
    # 1. customer.updated arrives while the customer is not linked: only stored.
    world.produce("customer.updated", UK_CUSTOMER["id"], {"customer": UK_CUSTOMER})
    with running(world.runtime()) as rt:
        wait_until(lambda: rt.processed >= 1, message="the customer.updated")
    assert snapshots.get_snapshot(world.db, account, UK_CUSTOMER["id"]) is not None

    # 2. The merchant links it to a QBO customer that already exists, named their own way.
    existing = world.client.create(
        "Customer", {"DisplayName": "Acme (QBO's own name)"}, request_id=f"c-{uuid.uuid4().hex}"
    )
    settings = world.c.settings
    publisher = KafkaPublisher(settings.kafka_bootstrap)
    try:
        pub = Publishing.over(publisher, settings.topics, world.serde)
        customers.link_customer(
            world.db, world.client, pub, account, UK_CUSTOMER["id"], str(existing["Id"])
        )
    finally:
        publisher.close()

    # 3. An invoice for it syncs (so the replay has every kind of input to go through).
    world.produce(
        "invoice.finalized", "inv_1", {"invoice": one_line_invoice("inv_1", number="R-inv_1")}
    )
    with running(world.runtime()):
        assert world.synced("invoice", "inv_1")["status"] == "synced"
    writes, customer_writes = world.writes(), len(_customer_writes(world))

    # 4. Every input topic again, from the start, through the whole service.
    with running(world.runtime(group=f"replay-{uuid.uuid4().hex}")) as replay:
        wait_until(lambda: replay.processed >= 2, message="the replay of every input topic")
    assert world.writes() == writes, "a replay wrote to QBO"
    assert len(_customer_writes(world)) == customer_writes == 1  # our own set-up create
    kept = world.client.get("Customer", str(existing["Id"]))
    assert kept["DisplayName"] == "Acme (QBO's own name)"

    # 5. The replay command says so: the customer.updated is counted unchanged, not updated.
    topics = world.c.settings.topics
    summary = _replay_command(
        world, monkeypatch, capsys, schema_registry_url, topics.customer_updated
    )
    assert summary.startswith("read 1, unchanged 1, updated 0, failed 0"), summary
    assert "qbo_updated" not in summary
    summary = _replay_command(
        world, monkeypatch, capsys, schema_registry_url, topics.invoice_finalized
    )
    assert summary.startswith("read 1, unchanged 1, updated 0, failed 0"), summary
    assert world.writes() == writes
