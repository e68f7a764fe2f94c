"""Pure rules of the services: item names, setting values, suggestion queries, re-sync records,
and the import report files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from schemas.serde import make_serde
from sequence_qbo.settings import Topics
from sync import _report, products, resync, suggest
from sync import settings as settings_service
from sync._importable import Problem, Rejected
from sync.errors import Invalid
from sync.publish import Publishing


@pytest.mark.parametrize(
    "name, item",
    [
        ("Pro plan", "Pro plan"),
        ("Seats: annual", "Seats - annual"),
        ("  many   spaces ", "many spaces"),
        ("x" * 150, "x" * 100),
    ],
)
def test_item_names(name: str, item: str) -> None:
    assert products._item_name(name) == item


def test_an_empty_item_name_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        products._item_name("   ")
    assert refused.value.reason == "item_name_empty"


@pytest.mark.parametrize(
    "name, value, parsed",
    [
        ("auto_create_customers", "yes", True),
        ("auto_create_customers", "OFF", False),
        ("auto_create_customers", True, True),
        ("txn_date_source", "accounting_date", "accounting_date"),
        ("merchant_email", "a@b.example", "a@b.example"),
        ("merchant_email", "", None),
        ("fallback_tax_code_id", " 3 ", "3"),
        ("fallback_item_id", None, None),
    ],
)
def test_setting_values(name: str, value: object, parsed: object) -> None:
    assert settings_service._value(name, value) == parsed


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("auto_create_customers", "sometimes", "invalid_setting"),
        ("txn_date_source", "due_date", "invalid_setting"),
        ("merchant_email", "not an email", "invalid_setting"),
        ("colour", "blue", "unknown_setting"),
    ],
)
def test_refused_setting_values(name: str, value: object, reason: str) -> None:
    with pytest.raises(Invalid) as refused:
        settings_service._value(name, value)
    assert refused.value.reason == reason


def test_suggestion_queries_escape_names_and_skip_unescapable_likes() -> None:
    texts = {how: q.select() for how, q in suggest._queries("o'b@x.example", 'O\'Brien: "UK"')}
    assert texts["email"].endswith("WHERE PrimaryEmailAddr = 'o\\'b@x.example'")
    assert texts["display_name"].endswith("WHERE DisplayName = 'O\\'Brien - \"UK\"'")
    assert texts["name_prefix"].endswith("WHERE DisplayName LIKE 'O\\'Brien - \"U%'")
    assert "name_prefix" not in dict(suggest._queries("a@x.example", "100% Ltd"))


class _Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, bytes]] = []
        self.flushed = 0

    def send(self, topic: str, key: str, value: bytes) -> None:
        self.sent.append((topic, key, value))

    def flush(self) -> None:
        self.flushed += 1


def test_a_resync_request_is_a_qbo_resync_record_keyed_by_the_document() -> None:
    outbox, serde = _Outbox(), make_serde(None)
    resync.request_resync(
        Publishing(outbox, Topics(), serde), "acct", "invoice", "inv_9", reason="customer_linked"
    )
    [(topic, key, value)] = outbox.sent
    assert (topic, key) == ("sequence-qbo.resync", "inv_9")
    record = serde.decode("qbo.resync", value)
    assert {k: record[k] for k in ("account_id", "document_type", "sequence_id", "reason")} == {
        "account_id": "acct",
        "document_type": "INVOICE",
        "sequence_id": "inv_9",
        "reason": "customer_linked",
    }


def test_report_files(tmp_path: Path) -> None:
    rejected = [
        Rejected(
            "7",
            'Ünïcode, "quoted"',
            (
                Problem("PrimaryEmailAddr", "missing"),
                Problem("BillAddr.Country", "invalid: x", "Narnia"),
            ),
        )
    ]
    normalised = [_report.Normalised("8", "Eight", "alpha-3 'GBR' → GB")]
    csv_path, json_path = _report.write(
        tmp_path / "r", "stem", {"scanned": 2}, rejected, normalised
    )
    with csv_path.open(encoding="utf-8") as f:
        assert list(csv.reader(f)) == [
            list(_report.CSV_COLUMNS),
            ["7", 'Ünïcode, "quoted"', "PrimaryEmailAddr", "missing", ""],
            ["7", 'Ünïcode, "quoted"', "BillAddr.Country", "invalid: x", "Narnia"],
        ]
    assert json.loads(json_path.read_text(encoding="utf-8")) == {
        "summary": {"scanned": 2},
        "rejected": [
            {
                "qbo_customer_id": "7",
                "display_name": 'Ünïcode, "quoted"',
                "problems": [
                    {"field": "PrimaryEmailAddr", "problem": "missing", "value": None},
                    {"field": "BillAddr.Country", "problem": "invalid: x", "value": "Narnia"},
                ],
            }
        ],
        "normalised": [
            {"qbo_customer_id": "8", "display_name": "Eight", "note": "alpha-3 'GBR' → GB"}
        ],
    }
