"""The admin API against its own OpenAPI document: schemathesis (its CLI, a bounded number of
examples per operation) sends generated requests to the real server (uvicorn on a free port,
PostgreSQL, Kafka, the QBO emulator) and checks every answer: no server error, a documented
status code and content type, a body that matches the documented schema."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from api.admin import AdminDeps
from api.app import Deps, create_app
from api.deliveries import MemoryDeliveryLog
from api.realms import from_mapping
from schemas.models import Invoice
from sequence_qbo import samples
from sequence_qbo.operations import KafkaOperations
from store.db import Database
from tests.integration.api.server import serving
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world
from tests.unit.api.fakes import ListPublisher

pytestmark = pytest.mark.integration

TOKEN = "schemathesis-admin-token"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


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
    admin = AdminDeps(
        TOKEN,
        world.app.services,
        report_dir=tmp_path / "reports",
        document_sync=lambda: world.sync_service(),
        operations=KafkaOperations(world.app),
    )
    app = create_app(
        Deps(
            world.c.settings,
            ListPublisher(),
            from_mapping({}),
            MemoryDeliveryLog(),
            registry=CollectorRegistry(),
            admin=admin,
        )
    )
    with serving(app) as url:
        yield url
    admin.jobs.close()


def test_the_admin_api_answers_as_its_openapi_document_says(base: str, tmp_path: Path) -> None:
    report = tmp_path / "schemathesis.json"
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{base}/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--checks",
            ",".join(CHECKS),
            "--include-path-regex",
            "^/admin/",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "5",
            "--workers",
            "1",
            "--generation-deterministic",
            "--request-timeout",
            "20",
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    print(run.stdout[-6000:])  # the summary, for the test report
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert " generated, " in summary and " passed" in summary, summary
    assert "❌" not in summary, summary
    assert json.loads(report.read_text())  # the machine-readable report, kept in tmp_path
