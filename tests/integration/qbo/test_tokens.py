"""Token management: refresh before expiry, after a 401, invalid_grant, and the refresh race."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import psycopg
import pytest

from qbo import errors
from qbo.connection import ClientFactory
from sandbox.config import SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from sequence_qbo import cli
from sequence_qbo.qbo_store import client_factory, store_connection
from store import connections
from store.db import Database

from .conftest import FAST, QUICK, ROOMY, Connected, connect_account

pytestmark = pytest.mark.integration


def token_calls(sb) -> list[dict]:
    return [r for r in sb.requests() if r["entity"] == "OAuth" and r["operation"] == "token"]


def stored_tokens(db: Database, factory: ClientFactory, account_id: str) -> tuple[str, str]:
    row = connections.get(db, account_id)
    assert row is not None
    return (
        factory.cipher.decrypt(row["access_token_enc"]),
        factory.cipher.decrypt(row["refresh_token_enc"]),
    )


def test_refreshes_before_expiry_and_keeps_the_newest_refresh_token(
    sb, db, factory, fernet_key
) -> None:
    c = connect_account(sb, db, factory, fernet_key, expires_in=dt.timedelta(minutes=2))
    before = len(token_calls(sb))
    assert c.client.get("Item", "1")["Id"] == "1"
    assert len(token_calls(sb)) == before + 1
    access, refresh = stored_tokens(db, factory, c.account_id)
    assert access != c.access_token and refresh != c.refresh_token  # rotated and persisted
    row = connections.get(db, c.account_id)
    assert row["refresh_count"] == 1 and row["access_expires_at"] > dt.datetime.now(dt.UTC)
    c.client.get("Item", "1")
    assert len(token_calls(sb)) == before + 1  # fresh now: no second refresh


def test_a_401_refreshes_once_and_retries(sb, db, factory, fernet_key) -> None:
    realm_id = sb.create_realm("US")
    minted = sb.token(realm_id)
    store_connection(
        db,
        fernet_key,
        "acc_401",
        realm_id,
        "eyJrevoked0123456789abcdefghijkl",
        minted["refresh_token"],
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    _, client = factory.for_account("acc_401")
    assert client.get("Item", "1")["Id"] == "1"
    statuses = [r["status"] for r in sb.requests(realm=realm_id)]
    assert statuses == [401, 200]


def test_invalid_grant_marks_the_connection_needs_reauth(sb, db, factory, fernet_key) -> None:
    realm_id = sb.create_realm("US")
    store_connection(
        db,
        fernet_key,
        "acc_dead",
        realm_id,
        "eyJexpired0123456789abcdefgh",
        "AB11dead-refresh-token-0123456789",
        dt.datetime.now(dt.UTC),
    )
    _, client = factory.for_account("acc_dead")
    with pytest.raises(errors.ReauthRequired) as exc:
        client.get("Item", "1")
    assert "invalid_grant" in str(exc.value) and "connect again" in str(exc.value)
    row = connections.get(db, "acc_dead")
    assert row["status"] == "needs_reauth" and "invalid_grant" in row["status_reason"]
    assert row["refresh_token_enc"] is None
    with pytest.raises(errors.ReauthRequired, match="sequence-qbo connect --account acc_dead"):
        factory.for_account("acc_dead")


def test_unknown_account_is_not_connected(factory) -> None:
    with pytest.raises(errors.NotConnected, match="sequence-qbo connect"):
        factory.for_account("acc_nobody")


@pytest.fixture(scope="module")
def strict_sb() -> Iterator[SandboxHandle]:
    """No grace period for a superseded refresh token: a second refresh with the old token is
    invalid_grant at once, as a race would be with Intuit once the grace has passed."""
    with running_sandbox(SandboxConfig(quotas=ROOMY, refresh_grace_seconds=0)) as handle:
        yield handle


def test_refresh_race_makes_exactly_one_token_call(
    strict_sb, db_url, qbo_settings, fernet_key, db
) -> None:
    """8 workers, each with its own pool and factory (as separate processes would be), force a
    refresh of the same stale token at once: one token call, all end with the same token."""
    sb = strict_sb
    qbo_settings = qbo_settings.model_copy(update={"qbo_base_url": sb.base_url})
    c = connect_account(
        sb, db, client_factory(qbo_settings, db, limits=FAST, policy=QUICK), fernet_key
    )
    before = len(token_calls(sb))
    barrier = threading.Barrier(8)
    results: list[str] = []
    failures: list[BaseException] = []

    def worker() -> None:
        with Database(db_url, min_size=1, max_size=2) as own_db:
            own = client_factory(qbo_settings, own_db, limits=FAST, policy=QUICK)
            _, client = own.for_account(c.account_id)
            barrier.wait()
            try:
                results.append(own.tokens(c.account_id).refresh(stale=c.access_token))
                client.get("Item", "1")
            except BaseException as exc:
                failures.append(exc)
            finally:
                own.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    calls = token_calls(sb)[before:]
    assert len(calls) == 1 and calls[0]["status"] == 200  # no invalid_grant either
    assert len(results) == 8 and len(set(results)) == 1 and results[0] != c.access_token
    assert connections.get(db, c.account_id)["refresh_count"] == 1
    print(
        f"\nrefresh race: 8 workers, {len(calls)} token call(s), "
        f"{sum(1 for r in calls if r['status'] != 200)} invalid_grant"
    )


def test_tokens_are_encrypted_at_rest(us: Connected, db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        dump = conn.execute("select t::text from qbo_connections t").fetchall()
        raw = conn.execute(
            "select access_token_enc, refresh_token_enc from qbo_connections"
        ).fetchall()
    text = " ".join(r[0] for r in dump)
    assert us.access_token not in text and us.refresh_token not in text
    blobs = b"".join(bytes(b) for row in raw for b in row if b)
    assert us.access_token.encode() not in blobs and us.refresh_token.encode() not in blobs


def test_refuses_to_start_without_an_encryption_key(qbo_settings, db, monkeypatch, capsys) -> None:
    no_key = qbo_settings.model_copy(update={"token_encryption_key": None})
    with pytest.raises(errors.ConfigError, match="SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY"):
        client_factory(no_key, db)
    monkeypatch.setenv("SEQUENCE_QBO_DATABASE_URL", qbo_settings.database_url.get_secret_value())
    assert cli.main(["connect", "--account", "acc_x"]) == 2
    assert "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY" in capsys.readouterr().err
