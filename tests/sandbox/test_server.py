"""Entry points: `python -m sandbox`, reset, realms and the batch quota."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from sandbox.testing import AdminError, free_port
from tests.sandbox.support import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_sandbox_serves():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--log-level", "warning"], cwd=ROOT
    )
    try:

        def up() -> bool:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_sandbox/health", timeout=1
                ) as resp:
                    return resp.status == 200
            except OSError:
                return False

        assert wait_for(up, timeout=15)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) is not None


def test_unknown_profile_is_rejected(sb):
    try:
        sb.create_realm("FR")
    except AdminError as exc:
        assert "400" in str(exc)
    else:
        raise AssertionError("profile FR accepted")


def test_realm_listing_and_fixed_id(sb):
    realm_id = sb.create_realm("MULTI", realm_id="4620816365000000001")
    listed = {r["realm_id"]: r for r in sb.admin("GET", "/realms")}
    assert listed[realm_id]["home_currency"] == "GBP" and listed[realm_id]["multicurrency"]


def test_batch_requests_have_their_own_quota(us):
    us.sb.set_quotas(
        us.realm_id, per_second=100, per_minute=1000, concurrent=10, batch_per_minute=2
    )
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}]}
    assert [us.post("batch", body).status_code for _ in range(3)] == [200, 200, 429]
    assert us.get("preferences").status_code == 200


def test_reset_forgets_everything():
    from sandbox.testing import running_sandbox

    with running_sandbox() as sb:
        realm_id = sb.create_realm("US")
        token = sb.access_token(realm_id)
        sb.reset()
        assert sb.admin("GET", "/realms") == []
        req = urllib.request.Request(
            f"{sb.api_url(realm_id)}/preferences", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            urllib.request.urlopen(req)
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        else:
            raise AssertionError("token survived reset")
