"""The CDC poller's pure parts: the pass plan (CDC or rescan) and the notices it emits."""

from __future__ import annotations

import datetime as dt

import pytest

from consumers import cdc
from schemas.serde import make_serde

NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
OVERLAP = dt.timedelta(minutes=5)


def test_no_watermark_means_a_rescan() -> None:
    assert cdc.plan(None, NOW, OVERLAP) is None


def test_cdc_starts_an_overlap_before_the_watermark() -> None:
    watermark = NOW - dt.timedelta(minutes=1)
    assert cdc.plan(watermark, NOW, OVERLAP) == watermark - OVERLAP


@pytest.mark.parametrize(
    "age", [dt.timedelta(days=30), dt.timedelta(days=29, hours=23), dt.timedelta(days=45)]
)
def test_a_watermark_at_the_edge_of_the_30_day_window_means_a_rescan(age) -> None:
    assert cdc.plan(NOW - age, NOW, OVERLAP) is None


def test_a_watermark_well_inside_the_window_uses_cdc() -> None:
    assert cdc.plan(NOW - dt.timedelta(days=29), NOW, OVERLAP) is not None


def test_cdc_notices_cover_both_entities_and_mark_deletions() -> None:
    changes = {
        "Invoice": [{"Id": "68", "MetaData": {"LastUpdatedTime": "2026-11-25T03:00:00-08:00"}}],
        "Payment": [
            {
                "Id": "9",
                "status": "Deleted",
                "MetaData": {"LastUpdatedTime": "2026-11-25T03:01:00-08:00"},
            }
        ],
    }
    notices = cdc.cdc_notices("acct_1", "9130", changes, NOW)
    assert [(n["entity"], n["entity_id"], n["operation"], n["source"]) for n in notices] == [
        ("Invoice", "68", "Update", "CDC"),
        ("Payment", "9", "Delete", "CDC"),
    ]
    assert notices[0]["last_updated"] == dt.datetime(2026, 11, 25, 11, tzinfo=dt.UTC)
    assert {n["realm_id"] for n in notices} == {"9130"}


def test_the_same_change_seen_twice_gets_the_same_event_id() -> None:
    changes = {"Invoice": [{"Id": "68", "MetaData": {"LastUpdatedTime": "2026-11-25T03:00:00Z"}}]}
    first = cdc.cdc_notices("acct_1", "9130", changes, NOW)
    again = cdc.cdc_notices("acct_1", "9130", changes, NOW + dt.timedelta(minutes=1))
    assert first[0]["event_id"] == again[0]["event_id"]


def test_rescan_notices_name_every_open_invoice() -> None:
    rows = [
        {"account_id": "acct_1", "qbo_invoice_id": "68"},
        {"account_id": "acct_1", "qbo_invoice_id": "70"},
    ]
    notices = cdc.rescan_notices("9130", rows, NOW)
    assert [(n["entity_id"], n["source"], n["last_updated"]) for n in notices] == [
        ("68", "RESCAN", NOW),
        ("70", "RESCAN", NOW),
    ]


def test_notices_fit_the_qbo_changes_schema() -> None:
    serde = make_serde(None)
    [notice] = cdc.rescan_notices("9130", [{"account_id": "a", "qbo_invoice_id": "1"}], NOW)
    decoded = serde.decode("qbo.changes", serde.encode("qbo.changes", "t", notice))
    assert (decoded["source"], decoded["entity"], decoded["entity_id"]) == (
        "RESCAN",
        "Invoice",
        "1",
    )
