"""Moving an account to another QBO company, end to end (Kafka, PostgreSQL, the emulator and
the `connect` command): refused unless asked for; once asked for, replaying every input topic
writes nothing into the old company and never touches the new company's own objects, although
their Ids are the very Ids the ledger held for the old one."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from sequence_qbo import samples
from store import connections
from store.db import Database
from tests.helpers import wait_until
from tests.integration.harness import running
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world
from tests.integration.tenant import support

pytestmark = pytest.mark.integration


@pytest.fixture
def world(db: Database, settings, qbo_sandbox, schema_registry_url) -> World:
    return make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")


def _invoice(iid: str, number: str, status: str = "FINAL") -> dict[str, Any]:
    line = samples.line(
        "l1", "Pro plan", "2", "50.00", "100.00", product_id="prod_pro", tax_category_id="std"
    )
    return samples.invoice(
        iid,
        UK_CUSTOMER,
        [samples.group("g1", "", [line])],
        number=number,
        net="100.00",
        tax="20.00",
        gross="120.00",
        status=status,
    )


def _credit_note(cid: str, number: str, invoice_id: str, invoice_number: str) -> dict[str, Any]:
    note = {
        **_invoice(cid, number),
        "invoice_id": invoice_id,
        "invoice_number": invoice_number,
        "issue_date": samples.dt.date(2026, 11, 6),
    }
    del note["invoice_date"]
    return note


def _sql(db: Database, statement: str, *params: Any) -> list[dict[str, Any]]:
    with db.transaction() as tx:
        cur = tx.conn.execute(statement.encode(), params)
        return cur.fetchall() if cur.description else []


def _in_old_company(world: World) -> dict[str, str]:
    """Account A in company 1: a customer auto-created, two invoices (one voided) and a credit
    note synced, with a product and a tax mapping. Returns document → QBO Id."""
    world.settings(
        fallback_item_id=world.item_id(), fallback_tax_code_id="3", auto_create_customers=True
    )
    _sql(
        world.db,
        "insert into product_mappings (account_id, product_id, realm_id, qbo_item_id, item_name,"
        " origin) values (%s, 'prod_pro', %s, %s, 'Services', 'linked')",
        world.c.account_id,
        world.c.realm_id,
        world.item_id(),
    )
    _sql(
        world.db,
        "insert into tax_mappings values (%s, 'std', %s, '3')",
        world.c.account_id,
        world.c.realm_id,
    )
    world.produce("customer.updated", UK_CUSTOMER["id"], {"customer": UK_CUSTOMER})
    world.produce("invoice.finalized", "i1", {"invoice": _invoice("i1", "RC-1")})
    world.produce("invoice.sent", "i2", {"invoice": _invoice("i2", "RC-2", "SENT")})
    note = _credit_note("cn1", "RCC-1", "i1", "RC-1")
    world.produce("credit_note.sent", "cn1", {"credit_note": note})
    with running(world.runtime()):
        for doc_type, sid in (("invoice", "i1"), ("invoice", "i2"), ("credit_note", "cn1")):
            wait_until(
                lambda t=doc_type, s=sid: (r := world.row(t, s)) and r["status"] == "synced",
                timeout=60,
                message=f"{doc_type} {sid} synced into company 1",
            )
        voided = {**_invoice("i2", "RC-2"), "status": "VOIDED"}
        world.produce("invoice.voided", "i2", {"invoice": voided})
        wait_until(lambda: world.row("invoice", "i2")["status"] == "voided", message="i2 voided")
    return {
        "i1": world.row("invoice", "i1")["qbo_id"],
        "i2": world.row("invoice", "i2")["qbo_id"],
        "cn1": world.row("credit_note", "cn1")["qbo_id"],
    }


_FINAL = (
    ("invoice", "i1", "synced"),
    ("invoice", "i2", "voided"),
    ("credit_note", "cn1", "synced"),
)


def _moved(world: World, realm_id: str) -> bool:
    for doc_type, sid, status in _FINAL:
        row = world.row(doc_type, sid)
        if not (row and row["status"] == status and row["realm_id"] == realm_id and row["qbo_id"]):
            return False
    i1 = world.row("invoice", "i1")  # the correction is what company 2 holds
    return i1["snapshot"]["memo"] is not None and i1["synced_snapshot_hash"] == i1["snapshot_hash"]


def test_moving_an_account_to_another_company_never_touches_either_companys_objects(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    account, company_1, sb = world.c.account_id, world.c.realm_id, world.c.sandbox
    old_ids = _in_old_company(world)

    # Company 2 already has objects: made by another app, numbered from 1 like company 1's.
    company_2 = sb.create_realm("UK")
    seeded = support.seed_company(sb, company_2, customers=2, invoices=4, credit_memos=2)
    assert {old_ids["i1"], old_ids["i2"]} <= set(seeded["Invoice"])  # the Ids collide
    assert old_ids["cn1"] in seeded["CreditMemo"]

    # Connecting A to company 2 is refused without --new-company, and changes nothing.
    support.cli_environment(monkeypatch, world.c.settings)
    refused = support.connect(monkeypatch, capsys, account, company_2)
    assert refused.code == 5, refused
    assert f"connected to QBO company {company_1}, not {company_2}" in refused.err
    assert f"sequence-qbo connect --account {account} --new-company" in refused.err
    assert "[qbo_company_changed]" in refused.err
    assert connections.get(world.db, account)["realm_id"] == company_1
    assert len(_sql(world.db, "select * from customer_links where realm_id = %s", company_1)) == 1

    # With it, company 1's links, mappings, fallback settings and references are archived.
    moved = support.connect(monkeypatch, capsys, account, company_2, "--new-company")
    assert moved.code == 0, moved
    assert f"moved from QBO company {company_1}" in moved.out
    assert "archived 1 customer link(s), 1 item and 1 tax mapping(s)" in moved.out
    assert "3 document reference(s)" in moved.out
    assert connections.get(world.db, account)["realm_id"] == company_2
    archived = _sql(
        world.db,
        "select sequence_id, qbo_id from sync_ledger_archive where realm_id = %s",
        company_1,
    )
    assert {a["sequence_id"]: a["qbo_id"] for a in archived} == old_ids

    # The merchant sets company 2 up (its own fallback item), then every topic is replayed.
    _sql(
        world.db,
        "update account_settings set fallback_item_id = %s, fallback_tax_code_id = '3'"
        " where account_id = %s",
        next(i["Id"] for i in sb.objects(company_2, "Item")["objects"] if i["Name"] == "Services"),
        account,
    )
    company_1_before = support.objects(sb, company_1)
    mark = sb.requests()[-1]["seq"]
    # A correction of i1 after the move: before the fix, this update went to the ledger's old
    # Id, which in company 2 is one of its own invoices.
    corrected = {**_invoice("i1", "RC-1"), "memo": "corrected after the move"}
    world.produce("invoice.finalized", "i1", {"invoice": corrected})
    with running(world.runtime(group=f"replay-{uuid.uuid4().hex}")):
        wait_until(lambda: _moved(world, company_2), timeout=120, message="documents in company 2")

    since = [r for r in sb.requests() if r["seq"] > mark]
    # Nothing at all was asked of company 1 (its token is gone too).
    assert [r for r in since if r["realm"] == company_1] == []
    assert support.objects(sb, company_1) == company_1_before
    # Company 2's own objects are exactly as they were: same SyncToken, same everything.
    company_2_now = support.objects(sb, company_2)
    for entity, by_id in seeded.items():
        for qbo_id, obj in by_id.items():
            assert company_2_now[entity][qbo_id] == obj, (entity, qbo_id)
    # Its writes: the customer created for A and the documents created there, each once; the
    # correction of i1 and the void (updates of those, never of company 2's own objects, which
    # are unchanged above). A refused request, or one QBO answered from its requestid cache, writes
    # nothing.
    writes = [
        (r["entity"], r["operation"])
        for r in since
        if r["realm"] == company_2
        and r["method"] == "POST"
        and r["operation"] != "query"
        and r["status"] == 200
        and not r["replayed"]
    ]
    creates = Counter(entity for entity, operation in writes if operation == "create")
    assert creates == {"Customer": 1, "Invoice": 2, "CreditMemo": 1}, writes
    assert ("Invoice", "void") in writes and ("Invoice", "update") in writes, writes
    assert {w for w in writes if w[1] != "create"} <= {
        ("Invoice", "update"),
        ("Invoice", "void"),
        ("CreditMemo", "update"),
    }, writes
    new_ids = {
        "i1": world.row("invoice", "i1")["qbo_id"],
        "i2": world.row("invoice", "i2")["qbo_id"],
        "cn1": world.row("credit_note", "cn1")["qbo_id"],
    }
    assert not {new_ids["i1"], new_ids["i2"]} & set(seeded["Invoice"])
    assert new_ids["cn1"] not in seeded["CreditMemo"]
    assert company_2_now["Invoice"][new_ids["i1"]]["PrivateNote"] == "sequence:invoice:i1"
    assert "corrected after the move" in str(company_2_now["Invoice"][new_ids["i1"]])
    assert company_2_now["Invoice"][new_ids["i1"]]["CustomerRef"]["value"] not in seeded["Customer"]


def test_an_account_moved_before_the_checks_fails_visibly_instead_of_corrupting(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before migration 0010 a connect replaced the realm and kept the ledger's Ids. Such a row
    is never used in the new company: a correction fails `realm_changed` and writes nothing;
    `connect --new-company` for the company it is on archives the old Ids, and a resync then
    creates the invoice there."""
    account, company_1, sb = world.c.account_id, world.c.realm_id, world.c.sandbox
    world.settings(
        fallback_item_id=world.item_id(), fallback_tax_code_id="3", auto_create_customers=True
    )
    world.produce("invoice.finalized", "i1", {"invoice": _invoice("i1", "RC-1")})
    with running(world.runtime()):
        row = wait_until(
            lambda: (r := world.row("invoice", "i1")) and r["status"] == "synced" and r,
            timeout=60,
            message="i1 synced into company 1",
        )
    company_2 = sb.create_realm("UK")
    seeded = support.seed_company(sb, company_2, customers=2, invoices=2, credit_memos=0)
    assert row["qbo_id"] in seeded["Invoice"]
    # What the old `connect` did: the realm replaced, nothing else.
    moved = "update qbo_connections set realm_id = %s where account_id = %s"
    _sql(world.db, moved, company_2, account)
    support.cli_environment(monkeypatch, world.c.settings)
    assert support.connect(monkeypatch, capsys, account, company_2).code == 0  # re-authorized
    mark = sb.requests()[-1]["seq"]

    corrected = {**_invoice("i1", "RC-1"), "memo": "corrected"}
    world.produce("invoice.finalized", "i1", {"invoice": corrected})
    with running(world.runtime()):
        failed = wait_until(
            lambda: (r := world.row("invoice", "i1")) and r["status"] == "failed" and r,
            timeout=60,
            message="the correction to fail",
        )
    assert failed["reason_code"] == "realm_changed", failed["message"]
    assert (
        f"in QBO company {company_1}, but the account is connected to {company_2}"
        in (failed["message"])
    )
    assert f"sequence-qbo connect --account {account} --new-company" in failed["message"]
    assert [r for r in sb.requests() if r["seq"] > mark and r["method"] == "POST"] == []
    assert support.objects(sb, company_2) == seeded

    cleaned = support.connect(monkeypatch, capsys, account, company_2, "--new-company")
    assert cleaned.code == 0, cleaned
    assert "archived 1 customer link(s)" in cleaned.out
    _sql(
        world.db,
        "update account_settings set fallback_item_id = %s where account_id = %s",
        next(i["Id"] for i in sb.objects(company_2, "Item")["objects"]),
        account,
    )
    result = world.sync_service().resync(account, world.doc_type("invoice"), "i1")
    assert result.outcome == "created", result
    row = world.row("invoice", "i1")
    assert (row["status"], row["realm_id"]) == ("synced", company_2)
    assert row["qbo_id"] not in seeded["Invoice"]
    now = support.objects(sb, company_2)
    assert {i: now["Invoice"][i] for i in seeded["Invoice"]} == seeded["Invoice"]
    assert now["Invoice"][row["qbo_id"]]["PrivateNote"] == "sequence:invoice:i1"
