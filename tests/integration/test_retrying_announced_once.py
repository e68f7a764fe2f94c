"""A document retrying through a QBO outage is visible (`retrying` with its reason and since
when) and announced on `qbo.sync_status` once, not once per attempt; then once more as synced."""

from __future__ import annotations

from typing import Any

import pytest

from store.db import Database
from tests.helpers import wait_until
from tests.integration.harness import read_all, running
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world, one_line_invoice
from tests.integration.rainy.fleet import records_on

pytestmark = pytest.mark.integration


@pytest.fixture
def world(db: Database, settings: Any, qbo_sandbox: Any, schema_registry_url: str) -> World:
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.link(UK_CUSTOMER)
    w.settings(fallback_item_id=w.item_id(), fallback_tax_code_id="3")
    return w


def _in_state(world: World, status: str, timeout: float) -> dict[str, Any]:
    def row() -> dict[str, Any] | None:
        found = world.row("invoice", "inv_1")
        return found if found is not None and found["status"] == status else None

    found = wait_until(row, timeout=timeout, message=f"the invoice {status}")
    assert found is not None
    return found


def test_an_outage_is_one_retrying_announcement_then_one_synced(world: World) -> None:
    # Every invoice write fails for a while: more failures than the client retries inline,
    # so the runtime retries the message several times.
    world.c.sandbox.add_fault(
        kind="error", status=503, next=12, realm=world.c.realm_id, method="POST", entity="invoice"
    )
    world.produce(
        "invoice.finalized", "inv_1", {"invoice": one_line_invoice("inv_1", number="O-inv_1")}
    )
    with running(world.runtime()):
        retrying = _in_state(world, "retrying", timeout=60)
        synced = _in_state(world, "synced", timeout=120)
    assert retrying["reason_code"] == "qbo_unavailable" and retrying["state_since"] is not None
    assert synced["attempts"] > 2, "the runtime should have retried more than once"
    statuses = [
        world.serde.decode("qbo.sync_status", m.value())
        for m in read_all(world.c.settings.kafka_bootstrap, world.c.settings.topics.sync_status, 2)
    ]
    assert [(s["state"], s["reason_code"]) for s in statuses] == [
        ("RETRYING", "qbo_unavailable"),
        ("SYNCED", None),
    ]
    assert statuses[0]["status"] == "FAILED"  # what readers of the first schema version see
    # Exactly two on the topic (read_all stops at the number asked for).
    assert records_on(world.c.settings.kafka_bootstrap, world.c.settings.topics.sync_status) == 2
    assert len(world.qbo_invoices()) == 1
