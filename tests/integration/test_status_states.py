"""`sequence-qbo status` (table and --json) and the status page show documents failed,
retrying and waiting with their reason and since when (docs/failures.md)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from api import status_page
from api.documents import read_status
from sequence_qbo import cli
from sequence_qbo.settings import Settings
from store import ledger
from store.db import Database
from store.ledger import DocKey, DocumentType

pytestmark = pytest.mark.integration

ACCOUNT = "acct_states"
INVOICE = DocKey(ACCOUNT, DocumentType.INVOICE, "inv_1")
NOTE = DocKey(ACCOUNT, DocumentType.CREDIT_NOTE, "cn_1")
OTHER = DocKey(ACCOUNT, DocumentType.INVOICE, "inv_2")
CUSTOMER = DocKey(ACCOUNT, DocumentType.CUSTOMER, "cus_1")


@pytest.fixture
def states(db: Database) -> Database:
    with db.transaction() as tx:
        for key in (INVOICE, NOTE, OTHER):
            ledger.receive(
                tx,
                key,
                customer_id="cus_1",
                snapshot={"id": key.sequence_id},
                snapshot_hash=f"h-{key.sequence_id}",
                occurred_at=dt.datetime.now(dt.UTC),
            )
        ledger.mark_retrying(tx, INVOICE, "qbo_throttled", "QBO is throttling this company")
        ledger.mark_waiting(tx, NOTE, "invoice_not_synced", "inv_1 is not in QBO yet", INVOICE)
        ledger.mark_failed(tx, OTHER, reason_code="duplicate_doc_number", message="INV-9 taken")
        ledger.record_failure(tx, CUSTOMER, "duplicate_name", "Acme is taken", customer_id="cus_1")
    return db


@pytest.fixture
def status_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("SEQUENCE_QBO_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("SEQUENCE_QBO_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    monkeypatch.setenv("COLUMNS", "250")

    def invoke(*argv: str) -> tuple[int, str]:
        code = cli.main(["status", *argv])
        return code, capsys.readouterr().out

    return invoke


def test_status_json_lists_every_state_with_reason_and_since(states: Database, status_cli) -> None:
    code, out = status_cli("--json", "--account", ACCOUNT)
    assert code == 0
    doc = json.loads(out)
    got = {(d["sequence_id"], d["status"], d["reason_code"]) for d in doc["documents"]}
    assert got == {
        ("inv_1", "retrying", "qbo_throttled"),
        ("cn_1", "waiting", "invoice_not_synced"),
        ("inv_2", "failed", "duplicate_doc_number"),
        ("cus_1", "failed", "duplicate_name"),
    }
    assert doc["totals"] == {"failed": 2, "retrying": 1, "waiting": 1}
    note = next(d for d in doc["documents"] if d["sequence_id"] == "cn_1")
    assert note["waits_for"] == "invoice inv_1"
    assert all(dt.datetime.fromisoformat(d["since"]).tzinfo for d in doc["documents"])
    retrying = [(r["status"], r["documents"]) for r in doc["summary"] if r["status"] == "retrying"]
    assert retrying == [("retrying", 1)]


def test_status_json_filters_by_state(states: Database, status_cli) -> None:
    code, out = status_cli("--json", "--state", "retrying")
    assert code == 0
    assert [d["sequence_id"] for d in json.loads(out)["documents"]] == ["inv_1"]


def test_status_table_shows_state_reason_and_what_a_document_waits_for(
    states: Database, status_cli
) -> None:
    code, out = status_cli("--account", ACCOUNT)
    assert code == 0
    assert "retrying" in out and "qbo_throttled" in out
    assert "waiting" in out and "invoice_not_synced" in out and "(waits for invoice inv_1)" in out
    assert "duplicate_doc_number" in out and "duplicate_name" in out


def test_status_page_shows_retrying_and_waiting_with_since(states: Database) -> None:
    page = status_page.render(
        read_status(states, ACCOUNT, failures=50, attempts=50),
        link_accounts=False,
        states=status_page.read_states(states, ACCOUNT, 50),
    )
    assert "Documents failed, retrying or waiting" in page
    for text in ("qbo_throttled", "invoice_not_synced", "duplicate_doc_number", "duplicate_name"):
        assert text in page
    assert '<span class="retrying">retrying</span>' in page
    assert '<span class="waiting">waiting</span>' in page
    assert "(waits for invoice inv_1)" in page
