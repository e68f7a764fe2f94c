"""The admin API against its own OpenAPI document: schemathesis (its CLI, a bounded number of
examples per operation) sends generated requests to the real server (uvicorn on a free port,
PostgreSQL, Kafka, the QBO emulator) and checks every answer: no server error, a documented
status code and content type, a body that matches the documented schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.models import Invoice
from sequence_qbo import samples
from store.db import Database
from tests.integration.api.server import run_schemathesis, serving_admin
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world

pytestmark = pytest.mark.integration

TOKEN = "schemathesis-admin-token"


@pytest.fixture
def world(db: Database, settings: Any, qbo_sandbox: Any, schema_registry_url: str) -> World:
    """A connected account with one synced and one failed invoice."""
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.link(UK_CUSTOMER)
    w.settings(fallback_item_id=w.item_id(), fallback_tax_code_id="3")
    lines = [samples.line("l1", "Plan", "1", "10.00", "10.00", tax_rate="0.2", tax_amount="2.00")]
    for iid, customer in (("inv_a", UK_CUSTOMER), ("inv_b", {**UK_CUSTOMER, "id": "cus_x"})):
        invoice = Invoice.model_validate(
            samples.invoice(
                iid,
                customer,
                [samples.group("g1", "Nov", lines)],
                number=f"N-{iid}",
                net="10.00",
                tax="2.00",
                gross="12.00",
            )
        )
        w.sync_service().sync(w.c.account_id, invoice, dt.datetime.now(dt.UTC))
    return w


@pytest.fixture
def base(world: World, tmp_path: Path) -> Iterator[str]:
    with serving_admin(world, TOKEN, tmp_path) as url:
        yield url


def test_the_admin_api_answers_as_its_openapi_document_says(base: str, tmp_path: Path) -> None:
    summary = run_schemathesis(f"{base}/openapi.json", TOKEN, "^/admin/", tmp_path)
    assert " passed" in summary, summary
