from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from prometheus_client import CollectorRegistry

from api import realms
from api.deliveries import MemoryDeliveryLog
from api.errors import HandoffFailed
from api.intake import Intake, Tally, event_id
from api.metrics import WebhookMetrics
from api.notices import Notice
from tests.unit.api.fakes import BrokenDeliveryLog, ListPublisher

T = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def _later(seconds: float = 2.5) -> float:
    return time.monotonic() + seconds


def _notice(realm: str = "r1", id_: str = "1", key: str | None = None) -> Notice:
    return Notice(realm, "Invoice", id_, "Update", T, key or f"{realm}/{id_}")


def _intake(publisher: ListPublisher, log: MemoryDeliveryLog | None = None) -> Intake:
    return Intake(
        realms.from_mapping({"r1": "acct-1", "r2": "acct-2"}),
        log or MemoryDeliveryLog(),
        publisher,
        WebhookMetrics(CollectorRegistry()),
    )


def test_notices_become_qbo_changes_records_of_their_account() -> None:
    publisher = ListPublisher()
    tally = _intake(publisher).handle([_notice("r1", "1"), _notice("r2", "2")], _later())
    assert tally == Tally(accepted=2)
    assert publisher.records[0] == {
        "event_id": event_id("r1/1"),
        "occurred_at": T,
        "account_id": "acct-1",
        "realm_id": "r1",
        "entity": "Invoice",
        "entity_id": "1",
        "operation": "Update",
        "last_updated": T,
        "source": "WEBHOOK",
        "dedupe_key": "r1/1",
    }
    assert publisher.records[1]["account_id"] == "acct-2"


def test_event_ids_are_deterministic_uuids_of_the_dedupe_key() -> None:
    assert event_id("k") == event_id("k") != event_id("k2")
    assert uuid.UUID(event_id("k")).version == 5


def test_redeliveries_are_published_once() -> None:
    publisher = ListPublisher()
    intake = _intake(publisher)
    tallies = [intake.handle([_notice()], _later()) for _ in range(3)]
    assert len(publisher.records) == 1
    assert [t.outcome() for t in tallies] == ["accepted", "duplicate", "duplicate"]


def test_a_key_repeated_within_one_delivery_is_published_once() -> None:
    publisher = ListPublisher()
    assert _intake(publisher).handle([_notice(), _notice()], _later()) == Tally(
        accepted=1, duplicate=1
    )
    assert len(publisher.records) == 1


def test_unknown_realms_are_ignored() -> None:
    publisher = ListPublisher()
    tally = _intake(publisher).handle([_notice("nobody"), _notice("r1")], _later())
    assert tally == Tally(accepted=1, unknown_realm=1)
    assert [r["realm_id"] for r in publisher.records] == ["r1"]
    assert _intake(publisher).handle([_notice("nobody")], _later()).outcome() == "unknown_realm"


def test_a_failed_handoff_is_not_recorded_so_the_retry_publishes() -> None:
    publisher, log = ListPublisher(), MemoryDeliveryLog()
    intake = _intake(publisher, log)
    publisher.failing = True
    with pytest.raises(HandoffFailed):
        intake.handle([_notice()], _later())
    assert log.seen(["r1/1"]) == set()
    publisher.failing = False
    assert intake.handle([_notice()], _later()).outcome() == "accepted"
    assert len(publisher.records) == 1


def test_handed_off_but_unrecorded_is_still_a_success() -> None:
    publisher = ListPublisher()
    assert _intake(publisher, BrokenDeliveryLog()).handle([_notice()], _later()).accepted == 1
    assert len(publisher.records) == 1


def test_nothing_to_do_is_empty() -> None:
    publisher = ListPublisher()
    assert _intake(publisher).handle([], _later()).outcome() == "empty"
    assert publisher.records == []


def test_the_publisher_gets_what_is_left_of_the_budget() -> None:
    publisher = ListPublisher()
    _intake(publisher).handle([_notice()], _later(2.0))
    assert publisher.timeouts[0] > 1.5 and publisher.timeouts[0] <= 2.0


def test_a_request_past_its_deadline_is_not_handed_off_nor_recorded() -> None:
    publisher, log = ListPublisher(), MemoryDeliveryLog()
    with pytest.raises(HandoffFailed, match="no time left"):
        _intake(publisher, log).handle([_notice()], time.monotonic() - 0.1)
    assert publisher.records == []
    assert log.seen(["r1/1"]) == set()
