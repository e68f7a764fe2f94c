"""Connecting, disconnecting and reconnecting QuickBooks over HTTP, end to end: `serve`'s app and
the emulator over real HTTP, PostgreSQL and Kafka real. Intuit's rules: the state is random,
single use, bound to the account, expires after 10 minutes and is stored hashed; a refused
callback stores no token; disconnecting revokes at Intuit's revoke endpoint."""

from __future__ import annotations

import hashlib
import logging
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from qbo import errors
from sequence_qbo.qbo_store import client_factory
from store import connections
from tests.integration.connect_http.conftest import ADMIN, SECRET, Server, returned

pytestmark = pytest.mark.integration


def _account() -> str:
    return f"acct_{uuid.uuid4().hex[:8]}"


def _state(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def _stored_tokens(server: Server, account: str) -> bool:
    row = connections.get(server.db, account)
    return row is not None and row["refresh_token_enc"] is not None


def _refresh_at_emulator(server: Server, refresh_token: str) -> int:
    """What the emulator's token endpoint answers a refresh with that token."""
    token_url = requests.get(server.sb.discovery_url, timeout=10).json()["token_endpoint"]
    reply = requests.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(server.settings.qbo_client_id or "", SECRET),
        timeout=10,
    )
    return reply.status_code


def test_connect_disconnect_reconnect(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account, realm = _account(), server.sb.create_realm("US")

    # Connect: the dashboard asks for the URL, the merchant approves, the browser comes back.
    url = server.authorize(account)
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["redirect_uri"] == [f"{server.base}/oauth/callback"]
    state = _state(url)
    callback = server.consent(url, realm)
    back = returned(server.browse(callback))
    assert back == {
        "tab": "settings",
        "account_id": account,
        "status": "connected",
        "realm_id": realm,
    }

    health = server.admin("GET", f"/{account}/connection").json()
    assert health["status"] == "active" and health["realm_id"] == realm
    assert health["company_name"]  # CompanyInfo's, read right after connecting
    assert health["reauth_required"] is False
    assert health["access_token_expires_at"] and health["refresh_token_hard_expires_at"]
    assert 0 <= health["refresh_token_age_days"] < 0.01
    assert health["last_successful_call_at"] is not None  # the CompanyInfo read

    factory = client_factory(server.settings, server.db)
    try:
        refresh_token = factory.cipher.decrypt(
            connections.get(server.db, account)["refresh_token_enc"]
        )
        # Disconnect: revoked at the emulator's revoke endpoint, forgotten here.
        gone = server.admin("POST", f"/{account}/disconnect")
        assert gone.status_code == 200, gone.text
        assert gone.json() == {"account_id": account, "status": "disconnected", "revoked": True}
        assert _refresh_at_emulator(server, refresh_token) == 400  # invalid_grant: revoked
        assert not _stored_tokens(server, account)
        health = server.admin("GET", f"/{account}/connection").json()
        assert health["status"] == "disconnected" and health["disconnected_at"] is not None
        # Documents now fail qbo_not_connected (sync/failures.py): the client is refused.
        with pytest.raises(errors.NotConnected):
            factory(account)

        # Reconnect the same company: a new state, active again, the client works.
        back = returned(server.connect(account, realm))
        assert back["status"] == "connected"
        assert server.admin("GET", f"/{account}/connection").json()["status"] == "active"
        assert factory(account).company_info()["CompanyName"]
    finally:
        factory.close()

    # Nothing secret in the service's logs: no state, code or token. (urllib3's debug lines
    # are this test's browser, requests, logging the URLs it opens; the service silences them.)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))
    assert "authorization started for account" in logged
    for secret in (state, code, refresh_token, SECRET, ADMIN):
        assert secret not in logged


def test_the_state_is_stored_hashed_and_used_once(server: Server) -> None:
    account, realm = _account(), server.sb.create_realm("US")
    url = server.authorize(account)
    state = _state(url)
    with server.db.transaction() as tx:
        tx.execute("oauth_state_prune")  # nothing expired to prune; the row stays
    row = connections.take_state(server.db, hashlib.sha256(state.encode()).digest())
    assert row is not None and row.account_id == account and row.fresh  # hashed, not raw
    # Taken above (as a callback would): the callback that follows finds it used.
    reply = server.browse(server.consent(url, realm))
    assert reply.status_code == 400
    assert "[invalid_state]" in reply.text and "Back to Sequence" not in reply.text
    assert connections.get(server.db, account) is None


def test_a_reused_state_is_refused_and_stores_nothing(server: Server) -> None:
    account, realm = _account(), server.sb.create_realm("US")
    callback = server.consent(server.authorize(account), realm)
    assert returned(server.browse(callback))["status"] == "connected"
    server.admin("POST", f"/{account}/disconnect")
    again = server.browse(callback)  # the same callback, replayed
    assert again.status_code == 400 and "[invalid_state]" in again.text
    assert not _stored_tokens(server, account)


def test_a_forged_state_is_refused_before_the_code_is_used(server: Server) -> None:
    account, realm = _account(), server.sb.create_realm("US")
    callback = server.consent(server.authorize(account), realm)
    forged = callback.replace("state=", "state=x")
    assert server.browse(forged).status_code == 400
    assert connections.get(server.db, account) is None
    # The code was never exchanged: the real callback still connects.
    assert returned(server.browse(callback))["status"] == "connected"


def test_an_expired_state_is_refused(server: Server) -> None:
    account, realm = _account(), server.sb.create_realm("US")
    url = server.authorize(account)
    _expire_states(server)
    reply = server.browse(server.consent(url, realm))
    assert reply.status_code == 400 and "[state_expired]" in reply.text
    assert connections.get(server.db, account) is None


def _expire_states(server: Server) -> None:
    import psycopg

    with psycopg.connect(server.settings.database_url.get_secret_value(), autocommit=True) as c:
        c.execute("update oauth_states set expires_at = now() - interval '1 second'")


def test_access_denied_is_a_page_with_a_way_back(server: Server) -> None:
    account = _account()
    state = _state(server.authorize(account))
    reply = server.browse(f"{server.base}/oauth/callback?error=access_denied&state={state}")
    assert reply.status_code == 400 and "[access_denied]" in reply.text
    assert f"account_id={account}&amp;status=error&amp;reason=access_denied" in reply.text
    assert connections.get(server.db, account) is None


def test_a_realm_held_by_another_account_is_refused(server: Server) -> None:
    first, second, realm = _account(), _account(), server.sb.create_realm("US")
    assert returned(server.connect(first, realm))["status"] == "connected"
    reply = server.connect(second, realm)
    assert reply.status_code == 400 and "[realm_held_by_another_account]" in reply.text
    assert connections.get(server.db, second) is None
    assert connections.get(server.db, first)["status"] == "active"


def test_another_company_needs_new_company_on_the_connect_request(server: Server) -> None:
    account = _account()
    one, two = server.sb.create_realm("US"), server.sb.create_realm("US")
    assert returned(server.connect(account, one))["status"] == "connected"
    refused = server.connect(account, two)
    assert refused.status_code == 400 and "[qbo_company_changed]" in refused.text
    assert connections.get(server.db, account)["realm_id"] == one
    moved = returned(server.connect(account, two, new_company=True))
    assert moved["status"] == "connected" and moved["realm_id"] == two
    assert connections.realm_changes(server.db, account)[0]["old_realm_id"] == one


def test_a_disconnect_inside_quickbooks_is_believed_once_intuit_confirms(server: Server) -> None:
    account, realm = _account(), server.sb.create_realm("US")
    assert returned(server.connect(account, realm))["status"] == "connected"

    # Anyone can open the disconnect URL: while Intuit still honours the tokens, nothing changes.
    forged = server.browse(f"{server.base}/oauth/disconnect?realmId={realm}")
    assert returned(forged)["status"] == "connected"
    assert connections.get(server.db, account)["status"] == "active"

    # The merchant disconnects inside QuickBooks: the emulator ends the grants and sends the
    # browser to our disconnect URL.
    hop = requests.post(
        f"{server.sb.base_url}/_sandbox/realms/{realm}/disconnect",
        params={"disconnect_url": f"{server.base}/oauth/disconnect"},
        allow_redirects=False,
        timeout=10,
    )
    assert hop.status_code == 303
    assert returned(server.browse(hop.headers["location"]))["status"] == "disconnected"
    row = connections.get(server.db, account)
    assert row["status"] == "disconnected"
    assert row["status_reason"] == "disconnected inside QuickBooks"
    # Reconnecting works as after any disconnect.
    assert returned(server.connect(account, realm))["status"] == "connected"


def test_the_connect_routes_need_the_admin_token(server: Server) -> None:
    account = _account()
    for method, path in [("POST", "connect"), ("POST", "disconnect"), ("GET", "connection")]:
        url = f"{server.base}/admin/v1/accounts/{account}/{path}"
        assert requests.request(method, url, timeout=10).status_code == 401
    assert server.admin("GET", f"/{account}/connection").status_code == 404
    assert server.admin("POST", f"/{account}/disconnect").status_code == 404


def test_probes_and_webhooks_without_a_verifier_token(server: Server) -> None:
    assert requests.get(f"{server.base}/healthz", timeout=10).json() == {"status": "ok"}
    ready = requests.get(f"{server.base}/readyz", timeout=30)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"postgresql": "ok", "kafka": "ok"}}
    hook = requests.post(f"{server.base}/webhooks/quickbooks", data=b"{}", timeout=10)
    assert hook.status_code == 503
    assert hook.json()["detail"]["reason"] == "webhooks_disabled"
    big = requests.post(
        f"{server.base}/webhooks/quickbooks", data=b"x" * (1024 * 1024 + 1), timeout=10
    )
    assert big.status_code == 413


def test_health_tells_reauth_webhooks_and_cdc_polls(server: Server) -> None:
    import datetime as dt

    from api import realms
    from store import reconcile

    account, realm = _account(), server.sb.create_realm("US")
    assert returned(server.connect(account, realm))["status"] == "connected"
    before = server.admin("GET", f"/{account}/connection").json()
    assert before["last_webhook_at"] is None and before["last_cdc_poll_at"] is None

    # A signed webhook naming the realm is routed by this lookup, which stamps the connection.
    assert realms.AccountForRealm(server.db)(realm) == account
    # The CDC poller's pass over the realm (store/reconcile.py, as CdcPoller records it).
    with server.db.transaction() as tx:
        assert reconcile.lock_watermark(tx, realm) is not None
        reconcile.advance_watermark(tx, realm, dt.datetime.now(dt.UTC), "cdc", 0)
    seen = server.admin("GET", f"/{account}/connection").json()
    assert seen["last_webhook_at"] is not None and seen["last_cdc_poll_at"] is not None

    # Intuit ends the grant behind our back (the merchant disconnected, nobody told us): the
    # next refresh is refused with invalid_grant and the connection needs re-authorization.
    requests.post(f"{server.sb.base_url}/_sandbox/realms/{realm}/disconnect", timeout=10)
    factory = client_factory(server.settings, server.db)
    try:
        with pytest.raises(errors.ReauthRequired):
            factory(account).company_info()
    finally:
        factory.close()
    after = server.admin("GET", f"/{account}/connection").json()
    assert after["reauth_required"] is True and after["status"] == "needs_reauth"
    assert "invalid_grant" in after["status_reason"]
    # Reconnecting clears it.
    assert returned(server.connect(account, realm))["status"] == "connected"
    assert server.admin("GET", f"/{account}/connection").json()["reauth_required"] is False
