"""`sequence-qbo connect` and the realm rules, through the command and the emulator's consent
screen: a company belongs to one account, and a refused connection uses no token."""

from __future__ import annotations

import uuid

import pytest
from cryptography.fernet import Fernet

from api.realms import AccountForRealm
from sandbox.testing import SandboxHandle
from sequence_qbo.settings import Settings
from store import connections
from store.db import Database
from tests.integration.tenant import support

pytestmark = pytest.mark.integration


@pytest.fixture
def sb(qbo_sandbox: SandboxHandle) -> SandboxHandle:
    """The session's emulator (tests/integration/conftest.py), by a shorter name."""
    return qbo_sandbox


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_url: str, sb: SandboxHandle) -> None:
    settings = Settings(
        database_url=db_url,
        qbo_base_url=sb.base_url,
        token_encryption_key=Fernet.generate_key().decode(),
    )
    support.cli_environment(monkeypatch, settings)


def _token_exchanges(sb: SandboxHandle) -> int:
    return sum(1 for r in sb.requests(entity="OAuth") if r["operation"] == "token")


def test_a_company_connected_to_one_account_is_refused_to_another(
    env: None,
    sb: SandboxHandle,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    realm = sb.create_realm("UK")
    first, second = f"acct_{uuid.uuid4().hex[:6]}", f"acct_{uuid.uuid4().hex[:6]}"
    assert support.connect(monkeypatch, capsys, first, realm).code == 0

    exchanges = _token_exchanges(sb)
    refused = support.connect(monkeypatch, capsys, second, realm)

    assert refused.code == 5, refused
    assert f"QBO company {realm} is already connected to account {first}" in refused.err
    assert "[realm_held_by_another_account]" in refused.err
    assert _token_exchanges(sb) == exchanges  # refused before the code was exchanged
    assert connections.get(db, second) is None
    assert AccountForRealm(db)(realm) == first  # webhooks: its one account

    # Once the first account lets go, the company can be connected to the second.
    assert support.cli_main(["disconnect", "--account", first]) == 0
    assert support.connect(monkeypatch, capsys, second, realm).code == 0
    assert AccountForRealm(db)(realm) == second


def test_reconnecting_the_same_company_needs_no_flag(
    env: None,
    sb: SandboxHandle,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    realm = sb.create_realm("US")
    account = f"acct_{uuid.uuid4().hex[:6]}"
    assert support.connect(monkeypatch, capsys, account, realm).code == 0
    again = support.connect(monkeypatch, capsys, account, realm)
    assert again.code == 0, again
    assert "moved" not in again.out
    assert connections.get(db, account)["realm_id"] == realm
    assert connections.realm_changes(db, account) == []
