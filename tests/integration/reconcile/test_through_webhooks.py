"""The whole payment path (docs/architecture.md): the emulator's signed webhook → the receiver
(api/) → qbo.changes → the reconciler → the outbox → the relay → exactly one invoice.paid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from api import realms
from api.app import Deps, create_app
from api.deliveries import PgDeliveryLog
from api.publisher import KafkaChangePublisher
from api.webhooks import PATH
from tests.helpers import wait_until
from tests.integration.api.server import serving
from tests.integration.harness import running
from tests.integration.reconcile.world import Reconciling, looping

pytestmark = pytest.mark.integration

TOKEN = "reconcile-verifier-token"


@pytest.fixture
def receiver(world: Reconciling) -> Iterator[str]:
    """The webhook receiver, served over HTTP, publishing with the runtime's serde."""
    settings = world.c.settings.model_copy(update={"webhook_verifier_token": SecretStr(TOKEN)})
    with KafkaChangePublisher(
        settings.kafka_bootstrap, world.serde, settings.topics.qbo_changes
    ) as publisher:
        deps = Deps(settings, publisher, realms.AccountForRealm(world.db), PgDeliveryLog(world.db))
        with serving(create_app(deps)) as url:
            yield url + PATH


@pytest.fixture
def webhooks_to(world: Reconciling) -> Iterator[object]:
    """Points the (session-wide) emulator's webhooks at a URL; restores them afterwards."""
    sandbox = world.c.sandbox
    before = sandbox.admin("GET", "/webhooks")

    def point(url: str, fmt: str) -> None:
        sandbox.set_webhooks(
            url=url,
            format=fmt,
            verifier_token=TOKEN,
            enabled=True,
            batch_window_seconds=0.1,
            retry_delays=[1.0, 2.0],
        )

    yield point
    sandbox.set_webhooks(**before)


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_a_payment_webhook_becomes_one_invoice_paid(
    world: Reconciling, receiver: str, webhooks_to, fmt: str
) -> None:
    qbo_id = world.invoice("inv_w", number="W-1")
    webhooks_to(receiver, fmt)
    runtime = world.runtime()
    with running(runtime), looping(world.relay()):
        payment = world.pay(qbo_id, "122.22", on="2026-11-21")
        [(key, event)] = world.paid_events(1)
        world.c.sandbox.admin("POST", "/webhooks/redeliver", {"times": 2})  # Intuit's retries
        wait_until(lambda: _delivered(world, receiver) >= 3, message="3 deliveries")
        wait_until(
            lambda: runtime.processed >= world.count(world.c.settings.topics.qbo_changes),
            message="every notice reconciled",
        )
    assert world.count(world.c.settings.topics.invoice_paid) == 1
    assert (
        key,
        event["qbo_invoice_id"],
        event["amount_paid"],
        event["paid_at"],
        event["qbo_payment_ids"],
    ) == ("inv_w", qbo_id, "122.22", dt.date(2026, 11, 21), [payment])
    notices = world.changes(world.count(world.c.settings.topics.qbo_changes))
    assert {n["source"] for n in notices} == {"WEBHOOK"}
    assert ("Payment", payment) in {(n["entity"], n["entity_id"]) for n in notices}


def _delivered(world: Reconciling, url: str) -> int:
    deliveries = world.c.sandbox.admin("GET", "/webhooks/deliveries")
    return sum(1 for d in deliveries if d["url"] == url and d["status"] == 200)


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_a_deleted_payments_webhook_reopens_the_invoice_once(
    world: Reconciling, receiver: str, webhooks_to, fmt: str
) -> None:
    qbo_id = world.invoice("inv_d", number="D-1")
    webhooks_to(receiver, fmt)
    runtime = world.runtime()
    with running(runtime), looping(world.relay()):
        payment = world.pay(qbo_id, "122.22")
        world.states(1)
        world.delete_payment(payment)
        world.states(2)
        before = _delivered(world, receiver)
        world.c.sandbox.admin("POST", "/webhooks/redeliver", {"times": 2})  # Intuit's retries
        wait_until(lambda: _delivered(world, receiver) >= before + 2, message="2 redeliveries")
        wait_until(
            lambda: runtime.processed >= world.count(world.c.settings.topics.qbo_changes),
            message="every notice reconciled",
        )
        wait_until(world.all_sent, message="everything queued published")
        events = world.states(2)
    assert [(e["version"], e["status"], e["amount_paid"]) for _, e in events] == [
        (1, "PAID", "122.22"),
        (2, "UNPAID", "0.00"),
    ]
    assert world.count(world.c.settings.topics.invoice_payment_status_changed) == 2
    assert world.count(world.c.settings.topics.invoice_paid) == 1
    notices = world.changes(world.count(world.c.settings.topics.qbo_changes))
    assert ("Payment", payment, "Delete") in {
        (n["entity"], n["entity_id"], n["operation"]) for n in notices
    }
