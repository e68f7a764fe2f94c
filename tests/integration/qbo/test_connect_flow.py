"""`sequence-qbo connect` end to end (OAuth against the emulator), a sync cycle, then
`connections list` and `disconnect`, with every log line and all output captured: no access
token, refresh token, authorization code, client secret or verifier token may appear."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from qbo import requestids
from qbo.connection import ClientFactory
from qbo.query import Query
from sandbox.testing import free_port
from sequence_qbo import cli
from sequence_qbo.qbo_store import client_factory
from sequence_qbo.settings import Settings
from store import connections
from store.db import Database
from tests.helpers import browser_get, wait_until

pytestmark = pytest.mark.integration

SECRET = "client-secret-Hv93kq"
VERIFIER = "verifier-token-Lp27xw"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_url: str, sb) -> dict[str, str]:
    values = {
        "DATABASE_URL": db_url,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_BASE_URL": sb.base_url,
        "QBO_CLIENT_ID": "app-flow",
        "QBO_CLIENT_SECRET": SECRET,
        "QBO_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback",
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "WEBHOOK_VERIFIER_TOKEN": VERIFIER,
    }
    for name, value in values.items():
        monkeypatch.setenv(f"SEQUENCE_QBO_{name}", value)
    return values


def test_connect_sync_disconnect_leaks_no_secret(env, sb, db: Database, caplog, capsys) -> None:
    caplog.set_level(logging.DEBUG)
    output: list[str] = []

    def drain() -> str:
        out = capsys.readouterr()
        output.extend([out.out, out.err])
        return "".join(output)

    # 1. connect: the CLI prints the authorize URL and listens for the callback.
    rc: list[int] = []
    runner = threading.Thread(
        target=lambda: rc.append(
            cli.main(["-v", "connect", "--account", "acc_flow", "--timeout", "30"])
        )
    )
    runner.start()
    printed = wait_until(
        lambda: "/connect/oauth2?" in drain() and drain(), message="the authorize URL"
    )
    url = next(w for w in printed.split() if "/connect/oauth2?" in w)
    status, callback = browser_get(url)  # the emulator's consent screen approves at once
    assert status == 302
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert browser_get(callback)[0] == 200  # the browser lands on our callback
    runner.join(timeout=30)
    assert rc == [0]

    # 2. a sync cycle through the factory, including a forced refresh.
    settings = Settings()
    factory = client_factory(settings, db)
    realm_id, client = factory.for_account("acc_flow")
    secrets_seen = set(_tokens(db, factory))
    made = client.create(
        "Customer", {"DisplayName": "Flow Ltd"}, request_id=requestids.make("flow", realm_id)
    )
    client.update(
        "Customer",
        made["Id"],
        made["SyncToken"],
        {"CompanyName": "Flow"},
        request_id=requestids.make("flow-upd", realm_id),
    )
    assert len(list(client.query(Query("Customer").where("DisplayName", "=", "Flow Ltd")))) == 1
    factory.tokens("acc_flow").refresh(stale=client.tokens.access_token())
    client.cdc(["Customer"], dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    client.preferences()
    secrets_seen |= set(_tokens(db, factory))
    factory.close()

    # 3. list and disconnect through the CLI.
    assert cli.main(["connections", "list"]) == 0
    assert cli.main(["disconnect", "--account", "acc_flow"]) == 0
    assert connections.get(db, "acc_flow")["status"] == "disconnected"

    everything = caplog.text + drain()
    assert "connected to QBO" in everything and "acc_flow" in everything
    assert len(secrets_seen) == 4  # two access and two refresh tokens
    for secret in [*secrets_seen, code, SECRET, VERIFIER, env["TOKEN_ENCRYPTION_KEY"]]:
        assert secret not in everything
    for token in secrets_seen:  # not even a recognisable piece of one
        assert token[-16:] not in everything


def _tokens(db: Database, factory: ClientFactory) -> list[str]:
    row = connections.get(db, "acc_flow")
    return [
        factory.cipher.decrypt(row["access_token_enc"]),
        factory.cipher.decrypt(row["refresh_token_enc"]),
    ]
