"""customer.updated failures are states like a document's (docs/failures.md): a ledger row
with the reason and since when, one `qbo.sync_status` per change of state (not per attempt),
cleared by the next update that goes through or by a re-sync."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from consumers.customers import CustomerUpdatedHandler
from consumers.runtime.types import Done, Event, Failed, Message, Retry
from consumers.status import SyncStatusPublisher
from publishing import KafkaPublisher
from schemas.serde import Serde, make_serde
from sequence_qbo import cli, samples
from store import ledger
from store.ledger import DocKey, DocumentType
from sync import customers
from tests.integration.customers.support import ACCOUNT, World, qbo_customer, store_customer
from tests.integration.harness import read_all

pytestmark = pytest.mark.integration

KEY = DocKey(ACCOUNT, DocumentType.CUSTOMER, "cus_1")


@pytest.fixture
def serde() -> Serde:
    return make_serde(None)


@pytest.fixture
def publisher(uk: World) -> Iterator[KafkaPublisher]:
    pub = KafkaPublisher(uk.settings.kafka_bootstrap)
    yield pub
    pub.close()


@pytest.fixture
def handler(uk: World, publisher: KafkaPublisher, serde: Serde) -> CustomerUpdatedHandler:
    status = SyncStatusPublisher(publisher, serde, uk.settings.topics.sync_status, db=uk.db)
    return CustomerUpdatedHandler(uk.db, uk.deps.clients, announce=status.publish_state)


def _event(name: str) -> Event:
    snapshot = samples.customer(
        "cus_1", name, "ap@acme.example", "1 Main St", "Leeds", "LS1 1AA", "GB", "TAXED"
    )
    value = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": dt.datetime.now(dt.UTC),
        "account_id": ACCOUNT,
        "customer": snapshot,
    }
    return Event(Message("customer.updated", 0, 0, b"cus_1", b""), value)


def _linked(w: World) -> str:
    store_customer(w.db, "cus_1", "Acme Ltd", email="ap@acme.example", at=dt.datetime.now(dt.UTC))
    made = customers.create_customer(w.db, w.client(), w.deps.pub, ACCOUNT, "cus_1")
    return made.link.qbo_customer_id


def _row(w: World) -> dict[str, Any] | None:
    with w.db.transaction() as tx:
        return ledger.get(tx, KEY)


def _statuses(w: World, serde: Serde, expected: int) -> list[dict[str, Any]]:
    topic = w.settings.topics.sync_status
    got = read_all(w.settings.kafka_bootstrap, topic, expected=expected)
    return [serde.decode("qbo.sync_status", m.value()) for m in got]


def test_a_taken_name_is_a_failed_state_announced_once_and_cleared_by_the_next_update(
    uk: World, handler: CustomerUpdatedHandler, serde: Serde
) -> None:
    _linked(uk)
    qbo_customer(uk.raw, "Taken Ltd")
    first = handler.handle(_event("Taken Ltd"))
    again = handler.handle(_event("Taken Ltd"))  # a redelivery fails the same way
    assert isinstance(first, Failed) and first.reason_code == "duplicate_name"
    assert isinstance(again, Failed) and again.reason_code == first.reason_code
    row = _row(uk)
    assert row is not None
    assert (row["status"], row["reason_code"], row["customer_id"]) == (
        "failed",
        "duplicate_name",
        "cus_1",
    )
    assert "6240" in row["message"] and row["state_since"] is not None

    assert handler.handle(_event("Not Taken Ltd")) == Done("qbo_updated")
    row = _row(uk)
    assert row is not None and (row["status"], row["reason_code"]) == ("synced", None)

    published = _statuses(uk, serde, expected=2)
    assert [(p["document_type"], p["document_id"]) for p in published] == [
        ("CUSTOMER", "cus_1")
    ] * 2
    assert [(p["status"], p["state"], p["reason_code"]) for p in published] == [
        ("FAILED", "FAILED", "duplicate_name"),
        ("SYNCED", "SYNCED", None),
    ]
    # Nothing more: the second failure was the same state.
    extra = read_all(uk.settings.kafka_bootstrap, uk.settings.topics.sync_status, expected=2)
    assert len(extra) == 2


def test_a_throttled_update_is_retrying_for_the_realm_then_goes_through(
    uk: World, handler: CustomerUpdatedHandler, serde: Serde
) -> None:
    _linked(uk)
    uk.sandbox.add_fault(kind="throttle", next=2, realm=uk.realm_id, method="POST")
    first = handler.handle(_event("Acme Group Ltd"))
    second = handler.handle(_event("Acme Group Ltd"))
    assert isinstance(first, Retry) and first.scope == "realm" and first.after == 60
    assert "qbo_throttled" in first.reason
    assert isinstance(second, Retry)
    row = _row(uk)
    assert row is not None and (row["status"], row["reason_code"]) == ("retrying", "qbo_throttled")

    assert handler.handle(_event("Acme Group Ltd")) == Done("qbo_updated")
    published = _statuses(uk, serde, expected=2)
    assert [(p["state"], p["reason_code"]) for p in published] == [
        ("RETRYING", "qbo_throttled"),
        ("SYNCED", None),
    ]
    assert published[0]["state_since"] is not None


def test_a_broken_connection_fails_with_qbo_not_connected_and_resync_clears_it(
    uk: World, handler: CustomerUpdatedHandler
) -> None:
    _linked(uk)

    def nobody(account_id: str) -> Any:
        from qbo import errors as qbo_errors

        raise qbo_errors.NotConnected(f"account {account_id} has no QBO connection")

    broken = CustomerUpdatedHandler(uk.db, nobody, announce=handler.announce)
    outcome = broken.handle(_event("New Name Ltd"))
    assert isinstance(outcome, Failed) and outcome.reason_code == "qbo_not_connected"
    row = _row(uk)
    assert row is not None and row["status"] == "failed"
    before = len(uk.writes())

    # Connected again: the re-sync (`sequence-qbo resync --customer cus_1`) pushes it.
    assert handler.resync(ACCOUNT, "cus_1") == Done("qbo_updated")
    assert len(uk.writes()) == before + 1
    row = _row(uk)
    assert row is not None and row["status"] == "synced"


def test_a_customer_that_never_failed_has_no_ledger_row(
    uk: World, handler: CustomerUpdatedHandler
) -> None:
    _linked(uk)
    assert handler.handle(_event("Acme Group Ltd")) == Done("qbo_updated")
    assert handler.handle(_event("Acme Group Ltd")) == Done("unchanged")
    assert _row(uk) is None


def test_resync_from_the_cli_clears_a_failed_customer_once_the_cause_is_fixed(
    uk: World,
    handler: CustomerUpdatedHandler,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _linked(uk)
    taken = qbo_customer(uk.raw, "Taken Ltd")
    assert isinstance(handler.handle(_event("Taken Ltd")), Failed)
    s = uk.settings
    env = {
        "DATABASE_URL": s.database_url.get_secret_value(),
        "KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_BASE_URL": s.qbo_base_url,
        "TOKEN_ENCRYPTION_KEY": s.token_encryption_key.get_secret_value(),  # type: ignore[union-attr]
        **{f"TOPIC_{k.upper()}": v for k, v in s.topics.model_dump().items()},
    }
    for name, value in env.items():
        monkeypatch.setenv(f"SEQUENCE_QBO_{name}", str(value))
    monkeypatch.setenv("COLUMNS", "200")

    # Still taken: the re-sync fails again, with the same reason, and exits 1.
    assert cli.main(["resync", "--account", ACCOUNT, "--all-failed"]) == 1
    assert "duplicate_name" in capsys.readouterr().out
    # The merchant renames the other QBO customer; the re-sync goes through.
    uk.raw.update(
        "Customer",
        taken["Id"],
        taken["SyncToken"],
        {"DisplayName": "Taken Ltd (old)"},
        request_id=f"rename-{uuid.uuid4().hex[:16]}",
    )
    assert cli.main(["resync", "--account", ACCOUNT, "--customer", "cus_1"]) == 0
    row = _row(uk)
    assert row is not None and (row["status"], row["reason_code"]) == ("synced", None)
    assert uk.raw.get("Customer", _link_id(uk))["DisplayName"] == "Taken Ltd"


def _link_id(w: World) -> str:
    from store import links

    link = links.get(w.db, ACCOUNT, "cus_1", realm_id=w.realm_id)
    assert link is not None
    return link.qbo_customer_id
