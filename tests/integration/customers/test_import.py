"""Importing 2,500 QBO customers (docs/qbo-mapping.md#importing-customers-from-qbo): valid,
alpha-3 and named countries are imported and published; invalid ones are reported field by
field; a re-run changes nothing."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas.serde import make_serde
from store import customers, links
from sync import import_
from tests.integration.customers.support import ACCOUNT, World, batch_create
from tests.integration.harness import read_all

pytestmark = pytest.mark.integration

TOTAL = 2500
_COUNTRIES = ["GB", "US", "DE", "FR"]
_ALPHA3 = {"GBR": "GB", "USA": "US", "DEU": "DE"}
_NAMES = {"United Kingdom": "GB", "United States": "US", "Germany": "DE"}


def _address(country: str, **overrides: Any) -> dict[str, Any]:
    return {
        "Line1": "1 Main St",
        "City": "Leeds",
        "PostalCode": "LS1 1AA",
        "Country": country,
        **overrides,
    }


def _body(i: int) -> dict[str, Any]:
    """Kind i % 10: 0-3 valid alpha-2, 4 alpha-3, 5 country name, 6 no email, 7 bad email,
    8 no billing address, 9 unknown country and no postal code."""
    kind = i % 10
    body: dict[str, Any] = {
        "DisplayName": f"Import Customer {i:04d}",
        "CompanyName": f"Import Co {i:04d}",
        "PrimaryEmailAddr": {"Address": f"c{i}@x.example"},
        "BillAddr": _address(_COUNTRIES[i % 4]),
    }
    if kind == 0:
        body["PrimaryEmailAddr"] = {"Address": f"c{i}@x.example, copy{i}@x.example"}
    elif kind == 4:
        body["BillAddr"] = _address(list(_ALPHA3)[i % 3])
    elif kind == 5:
        body["BillAddr"] = _address(list(_NAMES)[i % 3])
    elif kind == 6:
        del body["PrimaryEmailAddr"]
    elif kind == 7:
        body["PrimaryEmailAddr"] = {"Address": "accounts at example dot com"}
    elif kind == 8:
        del body["BillAddr"]
    elif kind == 9:
        body["BillAddr"] = _address("Atlantis", PostalCode="")
    return body


def _topic_size(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": uuid.uuid4().hex})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        )
    finally:
        consumer.close()


def _by_id(w: World) -> dict[str, str]:
    """QBO id → DisplayName of every seeded customer."""
    objects = w.sandbox.objects(w.realm_id, "Customer")["objects"]
    return {o["DisplayName"]: o["Id"] for o in objects}


def test_import_2500_customers_then_reimport_is_a_no_op(us: World, tmp_path: Path) -> None:
    batch_create(us.raw, "Customer", [_body(i) for i in range(TOTAL)])
    ids = _by_id(us)
    seen: list[tuple[int, int]] = []

    result = import_.import_customers(
        us.db,
        us.client(),
        us.deps.pub,
        ACCOUNT,
        tmp_path,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert result.counts() == {
        "scanned": 2500,
        "imported": 1500,
        "skipped": 0,
        "rejected": 1000,
        "normalised": 500,
    }
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]  # pages of 1000
    _check_published(us, ids)
    _check_links(us, ids)
    _check_reports(result, ids)

    again = import_.import_customers(us.db, us.client(), us.deps.pub, ACCOUNT, tmp_path / "again")
    assert again.counts() == {
        "scanned": 2500,
        "imported": 0,
        "skipped": 1500,
        "rejected": 1000,
        "normalised": 0,
    }
    topic = us.settings.topics.customer_imported
    assert _topic_size(us.settings.kafka_bootstrap, topic) == 1500  # nothing new published
    assert len(links.list_links(us.db, ACCOUNT, 10_000)) == 1500


def _check_published(w: World, ids: dict[str, str]) -> None:
    topic = w.settings.topics.customer_imported
    records = read_all(w.settings.kafka_bootstrap, topic, expected=1500, timeout=60)
    serde = make_serde(None)
    by_key = {m.key().decode(): serde.decode("customer.imported", m.value()) for m in records}
    assert len(by_key) == 1500
    first = by_key[ids["Import Customer 0000"]]
    assert first["realm_id"] == w.realm_id and first["account_id"] == ACCOUNT
    assert first["customer"] == {
        "id": f"qbo_{w.realm_id}_{ids['Import Customer 0000']}",
        "legal_name": "Import Co 0000",
        "email": "c0@x.example",
        "billing_emails": ["copy0@x.example"],
        "address": {
            "line1": "1 Main St",
            "line2": None,
            "town": "Leeds",
            "state": None,
            "postcode": "LS1 1AA",
            "country": "GB",
        },
        "tax_status": "TAXED",
        "tax_id": None,
        "archived": False,
    }
    for i in (4, 14, 24):  # alpha-3
        got = by_key[ids[f"Import Customer {i:04d}"]]["customer"]["address"]["country"]
        assert got == _ALPHA3[list(_ALPHA3)[i % 3]]
    for i in (5, 15, 25):  # names
        got = by_key[ids[f"Import Customer {i:04d}"]]["customer"]["address"]["country"]
        assert got == _NAMES[list(_NAMES)[i % 3]]


def _check_links(w: World, ids: dict[str, str]) -> None:
    qbo_id = ids["Import Customer 0001"]
    customer_id = f"qbo_{w.realm_id}_{qbo_id}"
    link = links.get(w.db, ACCOUNT, customer_id, realm_id=w.realm_id)
    assert link is not None and link.origin == "import" and link.qbo_customer_id == qbo_id
    assert link.currency == "USD"
    stored = customers.get_snapshot(w.db, ACCOUNT, customer_id)
    assert stored is not None and link.synced_hash == stored["snapshot_hash"]


def _check_reports(result: import_.ImportResult, ids: dict[str, str]) -> None:
    assert result.report_csv is not None and result.report_json is not None
    with result.report_csv.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 250 + 250 + 250 * 4 + 250 * 2  # one row per missing/invalid field
    by_customer: dict[str, list[tuple[str, str, str]]] = {}
    for row in rows:
        by_customer.setdefault(row["display_name"], []).append(
            (row["field"], row["problem"], row["value"])
        )
    assert by_customer["Import Customer 0006"] == [("PrimaryEmailAddr", "missing", "")]
    assert by_customer["Import Customer 0007"] == [
        (
            "PrimaryEmailAddr",
            "invalid: 'accounts at example dot com' is not an email address",
            "accounts at example dot com",
        )
    ]
    assert by_customer["Import Customer 0008"] == [
        ("BillAddr.Line1", "missing", ""),
        ("BillAddr.City", "missing", ""),
        ("BillAddr.PostalCode", "missing", ""),
        ("BillAddr.Country", "missing", ""),
    ]
    assert by_customer["Import Customer 0009"] == [
        ("BillAddr.PostalCode", "missing", ""),
        ("BillAddr.Country", "invalid: unknown country 'Atlantis'", "Atlantis"),
    ]
    assert rows[0]["qbo_customer_id"] == ids[rows[0]["display_name"]]
    report = json.loads(result.report_json.read_text(encoding="utf-8"))
    assert report["summary"] == {
        "account_id": ACCOUNT,
        "realm_id": report["summary"]["realm_id"],
        "scanned": 2500,
        "imported": 1500,
        "skipped": 0,
        "rejected": 1000,
        "normalised": 500,
    }
    rejected = {r["display_name"]: r for r in report["rejected"]}
    assert len(rejected) == 1000
    assert rejected["Import Customer 0006"]["problems"] == [
        {"field": "PrimaryEmailAddr", "problem": "missing", "value": None}
    ]
    assert rejected["Import Customer 0009"] == {
        "qbo_customer_id": ids["Import Customer 0009"],
        "display_name": "Import Customer 0009",
        "problems": [
            {"field": "BillAddr.PostalCode", "problem": "missing", "value": None},
            {
                "field": "BillAddr.Country",
                "problem": "invalid: unknown country 'Atlantis'",
                "value": "Atlantis",
            },
        ],
    }
    normalised = {n["display_name"]: n["note"] for n in report["normalised"]}
    assert normalised["Import Customer 0004"] == "alpha-3 'USA' → US"
    assert normalised["Import Customer 0005"] == "name 'Germany' → DE"
