"""OAuth 2.0 against Intuit's own client library, pointed at the emulator's discovery URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError

from sandbox.config import SandboxConfig
from sandbox.testing import running_sandbox

REDIRECT = "https://app.example.com/callback"


def connect(sb, realm_id=None, client_id="app-id", secret="app-secret"):
    """The whole authorization-code dance; returns the client and the callback's params."""
    client = AuthClient(client_id, secret, REDIRECT, sb.discovery_url)
    url = client.get_authorization_url([Scopes.ACCOUNTING], state_token="st-1")
    if realm_id:
        url += f"&realmId={realm_id}"
    resp = requests.get(url, allow_redirects=False)
    assert resp.status_code == 302
    location = urlparse(resp.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    client.get_bearer_token(params["code"], realm_id=params["realmId"])
    return client, params


def api_status(sb, realm_id, token):
    return requests.get(
        f"{sb.api_url(realm_id)}/preferences", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def test_discovery_document_names_the_emulator(sb):
    doc = requests.get(sb.discovery_url).json()
    assert doc["token_endpoint"] == sb.base_url + "/oauth2/v1/tokens/bearer"
    assert doc["authorization_endpoint"].startswith(sb.base_url)
    assert doc["revocation_endpoint"].startswith(sb.base_url)
    assert requests.get(sb.discovery_url + "/").json() == doc


def test_authorization_code_flow_with_intuitlib(sb):
    realm_id = sb.create_realm("UK")
    client, params = connect(sb, realm_id)
    assert params["state"] == "st-1" and params["realmId"] == realm_id
    assert client.expires_in == 3600 and client.x_refresh_token_expires_in > 0
    assert api_status(sb, realm_id, client.access_token) == 200


def test_code_is_single_use(sb):
    client = AuthClient("app-id", "s", REDIRECT, sb.discovery_url)
    resp = requests.get(client.get_authorization_url([Scopes.ACCOUNTING]), allow_redirects=False)
    code = parse_qs(urlparse(resp.headers["location"]).query)["code"][0]
    client.get_bearer_token(code)
    with pytest.raises(AuthClientError) as err:
        client.get_bearer_token(code)
    assert err.value.status_code == 400 and b"invalid_grant" in err.value.content


def test_refresh_rotates_and_old_token_dies_after_grace(sb):
    realm_id = sb.create_realm("US")
    client, _ = connect(sb, realm_id)
    first = client.refresh_token
    client.refresh()
    second = client.refresh_token
    assert second != first and api_status(sb, realm_id, client.access_token) == 200
    # Within the grace period the previous token still works (concurrent workers).
    client.refresh(refresh_token=first)
    assert client.refresh_token == second
    sb.advance_clock(sb.config.refresh_grace_seconds + 1)
    try:
        with pytest.raises(AuthClientError) as err:
            client.refresh(refresh_token=first)
        assert b"invalid_grant" in err.value.content
        client.refresh(refresh_token=second)
    finally:
        sb.advance_clock(-(sb.config.refresh_grace_seconds + 1))
    token_calls = [r for r in sb.requests() if r["entity"] == "OAuth"]
    assert len(token_calls) >= 5


def test_revoke_ends_the_connection(sb):
    realm_id = sb.create_realm("US")
    client, _ = connect(sb, realm_id)
    access = client.access_token
    assert client.revoke(token=client.refresh_token)
    assert api_status(sb, realm_id, access) == 401
    with pytest.raises(AuthClientError):
        client.refresh()


def test_configured_client_credentials_are_enforced():
    config = SandboxConfig(client_id="the-app", client_secret="the-secret")
    with running_sandbox(config) as sb:
        realm_id = sb.create_realm("US")
        client, _ = connect(sb, realm_id, "the-app", "the-secret")
        assert api_status(sb, realm_id, client.access_token) == 200
        wrong = AuthClient("the-app", "wrong", REDIRECT, sb.discovery_url)
        with pytest.raises(AuthClientError) as err:
            wrong.refresh(refresh_token=client.refresh_token)
        assert err.value.status_code == 401 and b"invalid_client" in err.value.content


def test_admin_minted_token(sb):
    realm_id = sb.create_realm("US")
    minted = sb.token(realm_id)
    assert minted["token_type"] == "bearer" and minted["expires_in"] == 3600
    assert api_status(sb, realm_id, minted["access_token"]) == 200
