"""What the reconciler remembers of its reads, and which notices they make free (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from consumers.reconcile import already_read, reads_of
from store.reconcile import Read

STAMP = dt.datetime(2026, 11, 30, 8, 0, 0, tzinfo=dt.UTC)
LATER = STAMP + dt.timedelta(seconds=5)  # a read that began well after the stamp's second


def _notice(
    last_updated: dt.datetime | None = STAMP, operation: str = "Update", source: str = "WEBHOOK"
) -> dict[str, Any]:
    return {"last_updated": last_updated, "operation": operation, "source": source}


def _read(
    last_updated: dt.datetime = STAMP, read_at: dt.datetime = LATER, deleted: bool = False
) -> Read:
    return Read("Payment", "7", last_updated, read_at, deleted)


def test_nothing_read_yet_means_a_read() -> None:
    assert not already_read(_notice(), None)


@pytest.mark.parametrize("source", ["WEBHOOK", "CDC"])
def test_the_same_or_an_earlier_stamp_costs_nothing(source: str) -> None:
    assert already_read(_notice(STAMP, source=source), _read())
    assert already_read(_notice(STAMP - dt.timedelta(seconds=1), source=source), _read())


def test_a_later_stamp_is_read() -> None:
    assert not already_read(_notice(STAMP + dt.timedelta(seconds=1)), _read())
    assert not already_read(_notice(STAMP + dt.timedelta(microseconds=1)), _read())


def test_a_rescan_notice_is_seen_by_a_read_begun_after_it() -> None:
    """Its stamp is the poller's clock (the pass's start), so our read time is what counts."""
    assert already_read(_notice(LATER - dt.timedelta(seconds=1), source="RESCAN"), _read())
    assert already_read(_notice(LATER, source="RESCAN"), _read())
    assert not already_read(_notice(LATER + dt.timedelta(seconds=1), source="RESCAN"), _read())


def test_a_notice_read_within_the_stamps_own_second_is_read_again() -> None:
    """A second write in that second carries the same stamp (a Payment deleted right after it
    was applied): its webhook must not wait for CDC's next pass, so either source reads again."""
    early = _read(read_at=STAMP + dt.timedelta(milliseconds=400))
    assert not already_read(_notice(source="CDC"), early)
    assert not already_read(_notice(source="WEBHOOK"), early)
    assert already_read(_notice(STAMP - dt.timedelta(seconds=1), source="CDC"), early)
    assert already_read(_notice(source="CDC"), _read(read_at=STAMP + dt.timedelta(seconds=1)))


def test_a_deletion_is_acted_on_until_the_entity_is_read_as_gone() -> None:
    assert not already_read(_notice(STAMP, "Delete"), _read())
    assert not already_read(_notice(STAMP - dt.timedelta(hours=1), "Delete"), _read())
    gone = _read(deleted=True)
    assert already_read(_notice(STAMP, "Delete"), gone)
    assert already_read(_notice(STAMP + dt.timedelta(hours=1), "Update", "CDC"), gone)


def test_a_notice_without_a_stamp_is_read() -> None:
    assert not already_read(_notice(None), _read())


def _payment(pid: str, *invoices: str, stamp: str = "2026-11-30T00:00:03-08:00") -> dict[str, Any]:
    lines = [
        {"Amount": Decimal("1"), "LinkedTxn": [{"TxnId": i, "TxnType": "Invoice"}]}
        for i in invoices
    ]
    return {"Id": pid, "Line": lines, "MetaData": {"LastUpdatedTime": stamp}}


def test_an_invoice_read_remembers_the_payments_that_link_it_alone() -> None:
    invoice = {"Id": "10", "MetaData": {"LastUpdatedTime": "2026-11-30T00:00:05-08:00"}}
    payments = [_payment("1", "10"), _payment("2", "10", "11"), _payment("3", "10", "10")]
    reads = reads_of(invoice, payments, LATER)
    assert [(r.entity, r.entity_id) for r in reads] == [
        ("Invoice", "10"),
        ("Payment", "1"),
        ("Payment", "3"),
    ]
    assert reads[0].last_updated == STAMP + dt.timedelta(seconds=5)
    assert reads[1].last_updated == STAMP + dt.timedelta(seconds=3)
    assert {r.read_at for r in reads} == {LATER} and not any(r.deleted for r in reads)
