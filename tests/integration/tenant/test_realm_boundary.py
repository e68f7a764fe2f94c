"""A QBO company (realm) is a tenant boundary, in the store: one account per realm, no silent
move of an account to another company, and what a move archives is never read again."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg.types.json import Jsonb

from api.realms import AccountForRealm
from sequence_qbo.qbo_store import store_connection
from store import connections, ledger, links, sync_context
from store.connections import CompanyChangeRefused, RealmHeld
from store.db import Database, StoreError
from store.ledger import DocKey, DocumentType, RealmMismatch
from tests.helpers import wait_until

pytestmark = pytest.mark.integration

KEY = Fernet.generate_key().decode()


def _connect(db: Database, account: str, realm: str, **kw: Any) -> connections.RealmChange | None:
    return store_connection(
        db,
        KEY,
        account,
        realm,
        f"access-{account}-{realm}",
        f"refresh-{account}-{realm}",
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        **kw,
    )


def _sql(db: Database, statement: str, *params: Any) -> list[dict[str, Any]]:
    with db.transaction() as tx:
        cur = tx.conn.execute(statement.encode(), params)
        return cur.fetchall() if cur.description else []


def test_a_realm_is_held_by_one_account_at_a_time(db: Database) -> None:
    _connect(db, "acct_a", "r1")
    with pytest.raises(RealmHeld, match="already connected to account acct_a") as refused:
        _connect(db, "acct_b", "r1")
    assert refused.value.reason == "realm_held_by_another_account"
    assert connections.get(db, "acct_b") is None

    _connect(db, "acct_a", "r1")  # re-authorizing the same company is not a move
    with db.transaction() as tx:
        connections.mark_needs_reauth(tx, "acct_a", "refresh refused")
    with pytest.raises(RealmHeld):  # waiting for re-authorization still holds it
        _connect(db, "acct_b", "r1")
    assert AccountForRealm(db)("r1") == "acct_a"

    connections.mark_disconnected(db, "acct_a", "disconnected by an operator")
    _connect(db, "acct_b", "r1")
    assert AccountForRealm(db)("r1") == "acct_b"  # webhooks go to its one account
    with pytest.raises(RealmHeld, match="acct_b"):
        _connect(db, "acct_a", "r1")


def test_the_database_itself_refuses_a_second_holder(db: Database) -> None:
    """The unique index catches what a race past the check would write."""
    _connect(db, "acct_a", "r1")
    with pytest.raises(StoreError, match="qbo_connections_realm_held") as refused:
        _sql(
            db,
            "insert into qbo_connections (account_id, realm_id, environment, status,"
            " access_token_enc, refresh_token_enc) values ('acct_b', 'r1', 'emulator',"
            " 'active', 'x', 'y')",
        )
    assert refused.value.sqlstate == "23505"  # unique_violation
    _sql(  # a disconnected row does not hold the realm
        db,
        "insert into qbo_connections (account_id, realm_id, environment, status)"
        " values ('acct_c', 'r1', 'emulator', 'disconnected')",
    )


def test_two_accounts_racing_for_a_realm_one_wins_the_other_is_told(
    db: Database, db_url: str
) -> None:
    """Both pass the check (neither sees the other's uncommitted row); the index decides, and
    the loser gets the same clear refusal, not a database error."""
    other = psycopg.connect(db_url)
    other.execute(
        "insert into qbo_connections (account_id, realm_id, environment, status,"
        " access_token_enc, refresh_token_enc) values ('acct_b', 'r1', 'emulator', 'active',"
        " 'x', 'y')"
    )  # not committed yet
    outcome: list[BaseException | None] = []

    def connect_a() -> None:
        try:
            _connect(db, "acct_a", "r1")
            outcome.append(None)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    racer = threading.Thread(target=connect_a)
    racer.start()
    try:
        wait_until(lambda: _waits_on_a_lock(db), message="acct_a's insert to wait on acct_b's")
    finally:
        other.commit()
        other.close()
        racer.join(30)
    [refused] = outcome
    assert isinstance(refused, RealmHeld), refused
    assert connections.get(db, "acct_a") is None
    assert AccountForRealm(db)("r1") == "acct_b"


def _waits_on_a_lock(db: Database) -> bool:
    rows = _sql(
        db,
        "select count(*) as n from pg_stat_activity"
        " where datname = current_database() and wait_event_type = 'Lock'",
    )
    return rows[0]["n"] > 0


def _seed_company(db: Database, account: str, realm: str) -> None:
    """What an account builds up in one company: a link, mappings, settings naming its
    objects, synced, voided and failed documents, and a create intent."""
    _sql(
        db,
        "insert into customer_links (account_id, customer_id, realm_id, qbo_customer_id,"
        " qbo_sync_token, currency, origin) values (%s, 'cus_1', %s, '1', '0', 'GBP', 'link')",
        account,
        realm,
    )
    _sql(
        db,
        "insert into product_mappings (account_id, product_id, realm_id, qbo_item_id,"
        " item_name, origin) values (%s, 'prod_1', %s, '1', 'Services', 'linked')",
        account,
        realm,
    )
    _sql(db, "insert into tax_mappings values (%s, 'std', %s, '3')", account, realm)
    _sql(
        db,
        "insert into account_settings (account_id, fallback_item_id, fallback_tax_code_id,"
        " merchant_email) values (%s, '1', '3', 'billing@merchant.example')",
        account,
    )
    for sequence_id, qbo_id in (("inv_1", "1"), ("inv_2", "2")):
        key = DocKey(account, DocumentType.INVOICE, sequence_id)
        with db.transaction() as tx:
            _receive(tx, key)
            ledger.mark_synced(
                tx,
                key,
                realm_id=realm,
                qbo_id=qbo_id,
                sync_token="3",
                payload_hash="h",
                request_id="rid",
                exchange_rate=None,
            )
    with db.transaction() as tx:
        ledger.mark_voided(tx, DocKey(account, DocumentType.INVOICE, "inv_2"), sync_token="4")
        failed = DocKey(account, DocumentType.INVOICE, "inv_3")
        _receive(tx, failed)
        ledger.mark_failed(tx, failed, reason_code="customer_not_linked", message="link it")
        ledger.record_intent(tx, failed, "rid-3")


def _receive(tx: Any, key: DocKey) -> None:
    ledger.receive(
        tx,
        key,
        customer_id="cus_1",
        snapshot={"id": key.sequence_id},
        snapshot_hash=f"s-{key.sequence_id}",
        occurred_at=dt.datetime.now(dt.UTC),
    )


def test_moving_to_another_company_is_refused_unless_asked_for(db: Database) -> None:
    _connect(db, "acct_a", "r1")
    _seed_company(db, "acct_a", "r1")
    before = connections.get(db, "acct_a")
    with pytest.raises(CompanyChangeRefused, match="connected to QBO company r1, not r2") as exc:
        _connect(db, "acct_a", "r2")
    assert exc.value.reason == "qbo_company_changed"
    after = connections.get(db, "acct_a")
    assert after == {**before, "db_now": after["db_now"]}  # not a byte changed
    assert links.get(db, "acct_a", "cus_1", realm_id="r1") is not None

    connections.mark_disconnected(db, "acct_a", "disconnected by an operator")
    with pytest.raises(CompanyChangeRefused):  # its data still names r1's objects
        _connect(db, "acct_a", "r2")
    assert _sql(db, "select count(*) as n from realm_changes")[0]["n"] == 0


def test_a_move_archives_the_old_company_and_nothing_of_it_is_read_again(db: Database) -> None:
    _connect(db, "acct_a", "r1")
    _seed_company(db, "acct_a", "r1")

    change = _connect(db, "acct_a", "r2", new_company=True)

    assert change is not None
    assert (change.old_realm_id, change.new_realm_id) == ("r1", "r2")
    assert (change.links, change.product_mappings, change.tax_mappings) == (1, 1, 1)
    assert (change.settings, change.ledger_refs) == (1, 2)
    assert connections.get(db, "acct_a")["realm_id"] == "r2"
    # Nothing of r1 answers a read, for either realm.
    for realm in ("r1", "r2"):
        assert links.get(db, "acct_a", "cus_1", realm_id=realm) is None
        with db.transaction() as tx:
            assert sync_context.link(tx, "acct_a", "cus_1", realm_id=realm) is None
            assert sync_context.item_mappings(tx, "acct_a", ["prod_1"], realm_id=realm) == {}
            assert sync_context.tax_mappings(tx, "acct_a", ["std"], realm_id=realm) == {}
    with db.transaction() as tx:
        settings = sync_context.settings(tx, "acct_a")
        assert settings is not None and settings["merchant_email"] == "billing@merchant.example"
        assert (settings["fallback_item_id"], settings["fallback_tax_code_id"]) == (None, None)
        rows = {
            sid: ledger.get(tx, DocKey("acct_a", DocumentType.INVOICE, sid))
            for sid in ("inv_1", "inv_2", "inv_3")
        }
        assert not ledger.intent_exists(tx, DocKey("acct_a", DocumentType.INVOICE, "inv_3"))
    # The documents that were in r1 have no QBO object in r2 yet: pending, bound to r2.
    for sid in ("inv_1", "inv_2"):
        row = rows[sid]
        assert row is not None
        assert (row["status"], row["realm_id"], row["qbo_id"], row["qbo_sync_token"]) == (
            "pending",
            "r2",
            None,
            None,
        )
        assert row["synced_snapshot_hash"] is None and row["payload_hash"] is None
    failed = rows["inv_3"]
    assert failed is not None
    assert (failed["status"], failed["reason_code"], failed["realm_id"]) == (
        "failed",
        "customer_not_linked",
        "r2",
    )
    # Kept for audit, with the move that archived them.
    [moved] = _sql(db, "select * from realm_changes")
    archived = _sql(
        db,
        "select sequence_id, realm_id, qbo_id, status, realm_change_id from sync_ledger_archive"
        " order by sequence_id",
    )
    assert [(a["sequence_id"], a["realm_id"], a["qbo_id"], a["status"]) for a in archived] == [
        ("inv_1", "r1", "1", "synced"),
        ("inv_2", "r1", "2", "voided"),
    ]
    assert {a["realm_change_id"] for a in archived} == {moved["id"]}
    [link] = _sql(db, "select * from customer_links_archive")
    assert (link["customer_id"], link["realm_id"], link["qbo_customer_id"]) == ("cus_1", "r1", "1")
    [kept] = _sql(db, "select * from account_settings_archive")
    assert (kept["realm_id"], kept["fallback_item_id"], kept["fallback_tax_code_id"]) == (
        "r1",
        "1",
        "3",
    )
    assert len(_sql(db, "select * from product_mappings_archive where realm_id = 'r1'")) == 1
    assert len(_sql(db, "select * from tax_mappings_archive where realm_id = 'r1'")) == 1
    assert connections.realm_changes(db, "acct_a")[0]["new_realm_id"] == "r2"


def test_an_account_moved_before_moves_were_checked_is_cleaned_up_on_request(
    db: Database,
) -> None:
    """Before migration 0010 a connect replaced the realm silently and kept the old company's
    links and references; `--new-company` for the company it is on now archives them."""
    _connect(db, "acct_a", "r1")
    _seed_company(db, "acct_a", "r1")
    _sql(db, "update qbo_connections set realm_id = 'r2' where account_id = 'acct_a'")
    assert _connect(db, "acct_a", "r2") is None  # a plain re-authorization archives nothing
    assert links.get(db, "acct_a", "cus_1", realm_id="r1") is not None

    change = _connect(db, "acct_a", "r2", new_company=True)

    assert change is not None and (change.old_realm_id, change.new_realm_id) == ("r2", "r2")
    assert (change.links, change.product_mappings, change.tax_mappings) == (1, 1, 1)
    assert (change.ledger_refs, change.settings) == (2, 0)  # settings name no known company
    assert links.get(db, "acct_a", "cus_1", realm_id="r1") is None
    with db.transaction() as tx:
        row = ledger.get(tx, DocKey("acct_a", DocumentType.INVOICE, "inv_1"))
    assert row is not None and (row["realm_id"], row["qbo_id"]) == ("r2", None)
    assert _connect(db, "acct_a", "r2", new_company=True) is None  # nothing left to archive


def test_a_sync_of_the_old_company_cannot_record_its_result_after_the_move(db: Database) -> None:
    """A sync in flight while the account moved: its r1 object is not recorded on the row,
    which now belongs to r2 (it would otherwise be updated or voided there later)."""
    _connect(db, "acct_a", "r1")
    _seed_company(db, "acct_a", "r1")
    _connect(db, "acct_a", "r2", new_company=True)
    key = DocKey("acct_a", DocumentType.INVOICE, "inv_1")
    synced = {
        "qbo_id": "7",
        "sync_token": "0",
        "payload_hash": "h",
        "request_id": "rid",
        "exchange_rate": None,
    }
    with pytest.raises(RealmMismatch), db.transaction() as tx:
        ledger.mark_synced(tx, key, realm_id="r1", **synced)
    with db.transaction() as tx:
        assert ledger.get(tx, key)["qbo_id"] is None
        ledger.mark_synced(tx, key, realm_id="r2", **synced)
        row = ledger.get(tx, key)
    assert (row["realm_id"], row["qbo_id"], row["status"]) == ("r2", "7", "synced")


def test_reads_name_their_realm(db: Database) -> None:
    """Rows of two companies side by side (what a sync in flight during a move can leave):
    each read returns its own realm's only."""
    for realm, qbo_id in (("r1", "1"), ("r2", "9")):
        _sql(
            db,
            "insert into customer_links (account_id, customer_id, realm_id, qbo_customer_id,"
            " origin) values ('acct_a', 'cus_1', %s, %s, 'auto')",
            realm,
            qbo_id,
        )
        _sql(
            db,
            "insert into product_mappings (account_id, product_id, realm_id, qbo_item_id,"
            " item_name, origin) values ('acct_a', 'prod_1', %s, %s, 'x', 'linked')",
            realm,
            qbo_id,
        )
        _sql(db, "insert into tax_mappings values ('acct_a', 'std', %s, %s)", realm, qbo_id)
    with db.transaction() as tx:
        for realm, qbo_id in (("r1", "1"), ("r2", "9")):
            link = sync_context.link(tx, "acct_a", "cus_1", realm_id=realm)
            assert link is not None and link["qbo_customer_id"] == qbo_id
            assert sync_context.item_mappings(tx, "acct_a", ["prod_1"], realm_id=realm) == {
                "prod_1": qbo_id
            }
            assert sync_context.tax_mappings(tx, "acct_a", ["std"], realm_id=realm) == {
                "std": qbo_id
            }
            stored = links.get(tx, "acct_a", "cus_1", realm_id=realm)
            assert stored is not None and stored.qbo_customer_id == qbo_id
        assert sync_context.link(tx, "acct_a", "cus_1", realm_id="r3") is None
    links.mark_synced(db, "acct_a", "cus_1", realm_id="r2", sync_token="5", synced_hash="h2")
    r1 = links.get(db, "acct_a", "cus_1", realm_id="r1")
    assert r1 is not None and r1.synced_hash is None  # the other company's link is untouched


def test_json_columns_are_untouched_by_the_archive(db: Database) -> None:
    """The ledger keeps each document's Sequence snapshot through a move (it is the
    document's history, and what a re-sync into the new company sends)."""
    _connect(db, "acct_a", "r1")
    _seed_company(db, "acct_a", "r1")
    _sql(
        db,
        "update sync_ledger set snapshot = %s where sequence_id = 'inv_1'",
        Jsonb({"id": "inv_1", "number": "INV-1"}),
    )
    _connect(db, "acct_a", "r2", new_company=True)
    [row] = _sql(db, "select snapshot, snapshot_hash from sync_ledger where sequence_id = 'inv_1'")
    assert row["snapshot"] == {"id": "inv_1", "number": "INV-1"}
    assert row["snapshot_hash"] == "s-inv_1"
