"""`customer.updated` through the broker keeps a linked QBO customer current
(docs/qbo-mapping.md#customers): sparse updates, a stale SyncToken re-read and re-applied,
replays that write nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from consumers.customers import CustomerUpdatedHandler
from consumers.runtime import kafka
from consumers.runtime.sequential import SequentialRuntime
from consumers.runtime.types import Done, Event, Failed, Message
from publishing import KafkaPublisher
from qbo import errors as qbo_errors
from schemas.serde import make_serde
from sequence_qbo import samples
from store import links
from sync import customers
from tests.helpers import wait_until
from tests.integration.customers.support import ACCOUNT, World, qbo_customer, store_customer
from tests.integration.harness import produce, running

pytestmark = pytest.mark.integration


def _runtime(w: World, group: str | None = None) -> SequentialRuntime:
    handler = CustomerUpdatedHandler(w.db, w.deps.clients)
    return SequentialRuntime(
        consumer=kafka.consumer(w.settings.kafka_bootstrap, group or w.settings.consumer_group),
        dead_letters=KafkaPublisher(w.settings.kafka_bootstrap),
        serde=make_serde(None),
        handlers={w.settings.topics.customer_updated: handler},
        dlq_topic=w.settings.topics.dlq,
        backoff_base=0.05,
    )


def _publish(w: World, snapshots: list[dict[str, Any]]) -> None:
    serde, topic = make_serde(None), w.settings.topics.customer_updated
    now = dt.datetime.now(dt.UTC)
    records = []
    for i, snapshot in enumerate(snapshots):
        event = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": now + dt.timedelta(seconds=i),
            "account_id": ACCOUNT,
            "customer": snapshot,
        }
        records.append((snapshot["id"], serde.encode("customer.updated", topic, event)))
    produce(w.settings.kafka_bootstrap, topic, records)


def _snapshot(name: str, email: str, town: str = "Leeds") -> dict[str, Any]:
    return samples.customer("cus_1", name, email, "1 Main St", town, "LS1 1AA", "GB", "TAXED")


def _linked_customer(w: World) -> str:
    """cus_1 created in QBO from its snapshot; a field we do not own set by the merchant."""
    store_customer(
        w.db,
        "cus_1",
        "Acme Ltd",
        email="ap@acme.example",
        at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )
    made = customers.create_customer(w.db, w.client(), w.deps.pub, ACCOUNT, "cus_1")
    qbo_id = made.link.qbo_customer_id
    current = w.raw.get("Customer", qbo_id)
    w.raw.update(
        "Customer",
        qbo_id,
        current["SyncToken"],
        {"Notes": "merchant's note"},
        request_id=f"note-{uuid.uuid4().hex[:16]}",
    )
    return qbo_id


def test_sparse_update_then_stale_sync_token_then_replay_writes_nothing(uk: World) -> None:
    qbo_id = _linked_customer(uk)  # our stored SyncToken is stale from here on
    before = len(uk.writes())
    _publish(uk, [_snapshot("Acme Group Ltd", "billing@acme.example", "York")])
    with running(_runtime(uk)) as rt:
        wait_until(lambda: rt.processed == 1, message="the update")
    qbo = uk.raw.get("Customer", qbo_id)
    assert qbo["DisplayName"] == "Acme Group Ltd"
    assert qbo["PrimaryEmailAddr"] == {"Address": "billing@acme.example"}
    assert qbo["BillAddr"]["City"] == "York"
    assert qbo["Notes"] == "merchant's note"  # sparse: what we do not own is untouched
    writes = uk.writes()[before:]
    # 5010 on the stale SyncToken, then a re-read and the same changes re-applied.
    assert [(w["operation"], w["status"], w["fault"]) for w in writes] == [
        ("update", 400, "5010"),
        ("update", 200, None),
    ]
    link = links.get(uk.db, ACCOUNT, "cus_1", realm_id=uk.realm_id)
    assert link is not None and link.qbo_sync_token == qbo["SyncToken"]

    _publish(uk, [_snapshot("Acme Group Ltd", "billing@acme.example", "York")])  # same again
    with running(_runtime(uk)) as rt:
        wait_until(lambda: rt.processed == 1, message="the unchanged snapshot")
    after_same = len(uk.writes())
    with running(_runtime(uk, group=f"replay-{uuid.uuid4().hex}")) as replay:
        wait_until(lambda: replay.processed == 2, message="the replay of the whole topic")
    assert len(uk.writes()) == after_same == before + 2  # zero QBO writes for both


def test_unlinked_customers_are_only_stored(uk: World) -> None:
    _publish(uk, [_snapshot("Nobody Ltd", "n@x.example")])
    with running(_runtime(uk)) as rt:
        wait_until(lambda: rt.processed == 1, message="the event")
    assert uk.writes() == [] and links.get(uk.db, ACCOUNT, "cus_1", realm_id=uk.realm_id) is None
    stored = customers.stored_customer(uk.db, ACCOUNT, "cus_1")[0]
    assert stored.legal_name == "Nobody Ltd"


def _event(snapshot: dict[str, Any]) -> Event:
    value = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": dt.datetime.now(dt.UTC),
        "account_id": ACCOUNT,
        "customer": snapshot,
    }
    return Event(Message("customer.updated", 0, 0, b"cus_1", b""), value)


def test_a_rename_onto_a_taken_name_fails_with_its_reason(uk: World) -> None:
    _linked_customer(uk)
    qbo_customer(uk.raw, "Taken Ltd")
    handler = CustomerUpdatedHandler(uk.db, uk.deps.clients)
    outcome = handler.handle(_event(_snapshot("Taken Ltd", "ap@acme.example")))
    assert isinstance(outcome, Failed) and outcome.reason_code == "duplicate_name"
    done = handler.handle(_event(_snapshot("Not Taken Ltd", "ap@acme.example")))
    assert done == Done("qbo_updated")
    # Nothing written anywhere: the replay summary counts it unchanged.
    assert handler.handle(_event(_snapshot("Not Taken Ltd", "ap@acme.example"))) == Done(
        "unchanged"
    )


def test_a_broken_connection_is_a_business_failure_not_a_retry(uk: World) -> None:
    _linked_customer(uk)

    def nobody(account_id: str) -> Any:
        raise qbo_errors.NotConnected(f"account {account_id} has no QBO connection")

    outcome = CustomerUpdatedHandler(uk.db, nobody).handle(_event(_snapshot("New", "n@x.ex")))
    assert isinstance(outcome, Failed) and outcome.reason_code == "qbo_not_connected"
