"""The connection routes and probes of `serve` against their OpenAPI document: schemathesis sends
generated requests to the real server (as tests/integration/api does for the rest of the admin
API, whose app is built without these routes) and checks each answer is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.api.server import run_schemathesis
from tests.integration.connect_http.conftest import ADMIN, Server, returned

pytestmark = pytest.mark.integration


def test_connection_routes_and_probes_answer_as_documented(server: Server, tmp_path: Path) -> None:
    # A connected account, so the generated requests reach more than the 404 of an unknown one.
    account = "acct_schemathesis"
    assert returned(server.connect(account, server.sb.create_realm("US")))["status"] == "connected"
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.account_id" = "{account}"\n')
    summary = run_schemathesis(
        f"{server.base}/openapi.json",
        ADMIN,
        "(/connect$|/disconnect$|/connection$|^/healthz$|^/readyz$)",
        tmp_path,
        options=("--config-file", str(config)),
    )
    assert "Selected: 5/" in summary, summary
