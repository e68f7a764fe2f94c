"""A disconnected account's documents are not lost: they fail `qbo_not_connected` (visible in
the ledger) and a re-sync after connecting again puts them in QBO. Disconnect and reconnect go
through the flow the admin API and the CLI share (`sync.connect`)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from schemas.models import Invoice
from store.db import Database
from store.ledger import DocumentType
from sync import connect as flow
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world, one_line_invoice

pytestmark = pytest.mark.integration


@pytest.fixture
def world(db: Database, settings, qbo_sandbox, schema_registry_url) -> World:
    return make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")


def _invoice() -> Invoice:
    return Invoice.model_validate(
        one_line_invoice("inv_dc", number="INV-DC-1", tax_category_id="std")
    )


def test_documents_fail_qbo_not_connected_and_resync_after_reconnecting(world: World) -> None:
    account, realm = world.c.account_id, world.c.realm_id
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id())
    with world.db.transaction() as tx:
        tx.conn.execute("insert into tax_mappings values (%s, 'std', %s, '3')", (account, realm))

    done = flow.disconnect(world.factory, account)
    assert done is not None and done.revoked
    failed = world.sync_service().sync(account, _invoice(), dt.datetime.now(dt.UTC))
    assert failed.reason_code == "qbo_not_connected", failed
    row = world.row("invoice", "inv_dc")
    assert row is not None and (row["status"], row["reason_code"]) == (
        "failed",
        "qbo_not_connected",
    )
    assert world.qbo_invoices() == []

    # Connect again (the merchant approves the same company), then re-sync the failed one.
    auth = flow.begin(world.db, world.factory, account, new_company=False)
    consent = requests.get(f"{auth.url}&realmId={realm}", allow_redirects=False, timeout=10)
    query = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["location"]).query).items()}
    assert flow.finish(world.db, world.factory, query).realm_id == realm
    synced = world.sync_service().resync(account, DocumentType.INVOICE, "inv_dc")
    assert synced.outcome == "created", synced
    [qbo_invoice] = world.qbo_invoices()
    assert qbo_invoice["DocNumber"] == "INV-DC-1"
    assert world.row("invoice", "inv_dc")["status"] == "synced"
