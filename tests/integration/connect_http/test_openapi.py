"""The connection routes and probes of `serve` against their OpenAPI document: schemathesis sends
generated requests to the real server (as tests/integration/api does for the rest of the admin
API, whose app is built without these routes) and checks each answer is documented."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.connect_http.conftest import ADMIN, Server, returned

pytestmark = pytest.mark.integration

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


def test_connection_routes_and_probes_answer_as_documented(server: Server, tmp_path: Path) -> None:
    # A connected account, so the generated requests reach more than the 404 of an unknown one.
    account = "acct_schemathesis"
    assert returned(server.connect(account, server.sb.create_realm("US")))["status"] == "connected"
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.account_id" = "{account}"\n')
    report = tmp_path / "schemathesis.json"
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(config),
            "run",
            f"{server.base}/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN}",
            "--checks",
            ",".join(CHECKS),
            "--include-path-regex",
            "(/connect$|/disconnect$|/connection$|^/healthz$|^/readyz$)",
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
    print(run.stdout[-6000:])
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert "Selected: 5/" in summary and " generated, " in summary, summary
    assert "❌" not in summary, summary
    assert json.loads(report.read_text())
