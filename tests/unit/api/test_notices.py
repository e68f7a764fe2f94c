from __future__ import annotations

import datetime as dt
import json

import pytest

from api.notices import Notice, parse
from tests.unit.api.payloads import cloudevent, cloudevents_body, legacy_body

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def test_legacy_notifications_become_notices_with_a_composite_dedupe_key() -> None:
    body = legacy_body(
        ("123", "Invoice", "42", "Update", "2015-10-05T14:42:19-0700"),
        ("123", "Payment", "7", "Create", "2015-10-05T21:42:20.000Z"),
        ("456", "Customer", "1", "Merge", "2015-10-05T21:42:21Z"),
    )
    parsed = parse(body, NOW)
    assert parsed.problems == ()
    assert parsed.notices[0] == Notice(
        realm_id="123",
        entity="Invoice",
        entity_id="42",
        operation="Update",
        last_updated=dt.datetime(2015, 10, 5, 21, 42, 19, tzinfo=dt.UTC),
        dedupe_key="123/Invoice/42/1444081339000",
    )
    assert [(n.realm_id, n.entity, n.operation) for n in parsed.notices[1:]] == [
        ("123", "Payment", "Create"),
        ("456", "Customer", "Merge"),
    ]


def test_the_same_legacy_change_always_gets_the_same_key() -> None:
    # Same instant written two ways: the key must not depend on the spelling.
    a = parse(legacy_body(("1", "Invoice", "9", "Update", "2026-01-01T00:00:00Z")), NOW)
    b = parse(legacy_body(("1", "Invoice", "9", "Update", "2025-12-31T16:00:00-0800")), NOW)
    assert a.notices[0].dedupe_key == b.notices[0].dedupe_key


def test_cloudevents_become_notices_keyed_by_their_id() -> None:
    # The example event of Intuit's .NET SDK (WebhooksServiceTest.GetWebhooksCloudEvents).
    body = (
        b'[{"specversion":"1.0","id":"d1a3aedd-9670-41bf-a4f9-c148a1cc4e03","source":'
        b'"intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=","type":"qbo.class.created.v1",'
        b'"time":"2025-10-07T19:59:07.034359333Z","intuitentityid":"1234",'
        b'"intuitaccountid":"310687","data":{"alternative_ids":[]}}]'
    )
    assert parse(body, NOW).notices == (
        Notice(
            realm_id="310687",
            entity="Class",
            entity_id="1234",
            operation="Create",
            last_updated=dt.datetime(2025, 10, 7, 19, 59, 7, 34359, tzinfo=dt.UTC),
            dedupe_key="d1a3aedd-9670-41bf-a4f9-c148a1cc4e03",
        ),
    )


@pytest.mark.parametrize(
    ("type_", "entity", "operation"),
    [
        ("qbo.invoice.updated.v1", "Invoice", "Update"),
        ("qbo.payment.created.v1", "Payment", "Create"),
        ("qbo.salesreceipt.updated.v1", "SalesReceipt", "Update"),
        ("qbo.creditmemo.voided.v1", "CreditMemo", "Void"),
        ("qbo.customer.merged.v1", "Customer", "Merge"),
        ("qbo.invoice.deleted.v1", "Invoice", "Delete"),
        ("qbo.invoice.emailed.v1", "Invoice", "Emailed"),
        ("qbo.widget.frobbed.v2", "Widget", "Frobbed"),  # unknown: passed through, capitalised
    ],
)
def test_cloudevent_types_map_to_qbo_names(type_: str, entity: str, operation: str) -> None:
    notice = parse(cloudevents_body(cloudevent("1", type_, "5")), NOW).notices[0]
    assert (notice.entity, notice.operation) == (entity, operation)


def test_a_lone_cloudevent_object_is_accepted() -> None:
    body = json.dumps(cloudevent("1", "qbo.invoice.updated.v1", "5", id_="abc")).encode()
    assert [n.dedupe_key for n in parse(body, NOW).notices] == ["abc"]


def test_a_cloudevent_without_time_is_stamped_with_the_receipt_time() -> None:
    body = cloudevents_body(cloudevent("1", "qbo.invoice.updated.v1", "5", time=None))
    assert parse(body, NOW).notices[0].last_updated == NOW


def test_one_delivery_may_mix_realms() -> None:
    body = cloudevents_body(
        cloudevent("1", "qbo.invoice.updated.v1", "5"),
        cloudevent("2", "qbo.payment.created.v1", "6"),
    )
    assert [n.realm_id for n in parse(body, NOW).notices] == ["1", "2"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"null",
        b"42",
        b'"text"',
        b"{}",
        b'{"eventNotifications": {}}',
        b"[" * 100_000,
    ],
)
def test_unparseable_bodies_yield_a_problem_and_no_notice(body: bytes) -> None:
    parsed = parse(body, NOW)
    assert parsed.notices == ()
    assert len(parsed.problems) == 1


def test_bad_items_are_skipped_and_their_siblings_kept() -> None:
    good = cloudevent("1", "qbo.invoice.updated.v1", "5", id_="good")
    body = cloudevents_body(
        good,
        {**good, "id": ""},
        {**good, "type": "invoice.updated"},
        {**good, "time": "yesterday"},
        {**good, "intuitaccountid": None},
        "not an object",
    )
    parsed = parse(body, NOW)
    assert [n.dedupe_key for n in parsed.notices] == ["good"]
    assert len(parsed.problems) == 5


def test_bad_legacy_entities_are_skipped_and_their_siblings_kept() -> None:
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": "1",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": "1",
                                "operation": "Update",
                                "lastUpdated": "2026-01-01",
                            },
                            {"name": "Invoice", "id": "2", "operation": "Update"},
                            {
                                "name": "Invoice",
                                "id": 3,
                                "operation": "Update",
                                "lastUpdated": "nope",
                            },
                        ]
                    },
                },
                {"realmId": "2"},
                {"dataChangeEvent": {"entities": []}},
                "junk",
            ]
        }
    ).encode()
    parsed = parse(body, NOW)
    assert [n.entity_id for n in parsed.notices] == ["1"]
    assert len(parsed.problems) == 5


def test_numeric_ids_are_read_as_strings() -> None:
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": 123,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": 42,
                                "operation": "Void",
                                "lastUpdated": "2026-01-01T00:00:00Z",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()
    notice = parse(body, NOW).notices[0]
    assert (notice.realm_id, notice.entity_id) == ("123", "42")
