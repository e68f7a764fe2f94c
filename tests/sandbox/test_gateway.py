"""Auth, quotas, requestid replay, injected faults and latency: the gateway's behaviour."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.sandbox.support import wait_for

GATEWAY_KEYS = {
    "warnings",
    "intuitObject",
    "fault",
    "report",
    "queryResponse",
    "batchItemResponse",
    "attachableResponse",
    "syncErrorResponse",
    "requestId",
    "time",
    "status",
    "cdcresponse",
}


def gateway_error(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == GATEWAY_KEYS and "Fault" not in body
    return body["fault"]


def test_missing_and_bad_token_get_lowercase_401(us):
    resp = requests.get(f"{us.url}/customer/1")
    fault = gateway_error(resp, 401)
    assert fault["type"] == "AUTHENTICATION"
    assert fault["error"][0]["code"] == "3200" and fault["error"][0]["element"] is None
    assert "statusCode=401" in fault["error"][0]["message"]
    assert resp.headers["www-authenticate"].startswith("Bearer")
    bad = requests.get(f"{us.url}/customer/1", headers={"Authorization": "Bearer nope"})
    gateway_error(bad, 401)


def test_access_token_expires(make_qbo, sb):
    qbo = make_qbo("US")
    token = sb.token(qbo.realm_id, ttl=60)["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{qbo.url}/preferences", headers=headers).status_code == 200
    sb.advance_clock(61)
    try:
        resp = requests.get(f"{qbo.url}/preferences", headers=headers)
        assert "Token expired" in gateway_error(resp, 401)["error"][0]["detail"]
    finally:
        sb.advance_clock(-61)


def test_token_of_another_realm_is_403(make_qbo):
    a, b = make_qbo("US"), make_qbo("US")
    resp = a.http.get(f"{b.url}/preferences")
    assert resp.status_code == 403
    assert resp.json()["fault"]["error"][0]["code"] == "3100"


def test_per_second_quota_gives_429_with_gateway_body(us):
    us.sb.set_quotas(us.realm_id, per_second=3, per_minute=1000, concurrent=10)
    statuses = [us.get("preferences").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
    fault = gateway_error(us.get("preferences"), 429)
    assert fault["type"] == "SERVICE" and fault["error"][0]["code"] == "3001"
    assert fault["error"][0]["detail"] == "The request limit was reached.  Try again later"


def test_per_minute_quota(us):
    us.sb.set_quotas(us.realm_id, per_second=100, per_minute=2, concurrent=10)
    assert [us.get("preferences").status_code for _ in range(3)] == [200, 200, 429]


def test_concurrency_quota(us):
    us.sb.set_quotas(us.realm_id, per_second=100, per_minute=1000, concurrent=2)
    us.sb.set_faults(realm_latency_ms={us.realm_id: 2500})
    threads = [threading.Thread(target=us.get, args=("preferences",)) for _ in range(2)]
    for t in threads:
        t.start()
    wait_for(lambda: us.sb.stats()["inflight"].get(us.realm_id) == 2)
    assert us.get("preferences").status_code == 429
    for t in threads:
        t.join()


def test_requestid_replays_instead_of_acting_twice(us):
    first = us.post("customer", {"DisplayName": "Once"}, requestid="req-1")
    again = us.post("customer", {"DisplayName": "Once"}, requestid="req-1")
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["x-sandbox-replayed"] == "true"
    assert len(us.query("select * from Customer where DisplayName = 'Once'")["Customer"]) == 1
    other = us.post("customer", {"DisplayName": "Once"}, requestid="req-2")
    assert us.fault(other)["code"] == "6240"


def test_injected_500_commits_nothing(us):
    us.sb.add_fault(kind="error", status=500, next=1, realm=us.realm_id, entity="customer")
    resp = us.post("customer", {"DisplayName": "Ghost"})
    assert resp.status_code == 500 and resp.json()["Fault"]["type"] == "SystemFault"
    assert us.query("select * from Customer where DisplayName = 'Ghost'") == {}
    assert us.post("customer", {"DisplayName": "Ghost"}).status_code == 200  # next=1 is spent


def test_injected_503_is_gateway_html(us):
    us.sb.add_fault(kind="error", status=503, next=1, realm=us.realm_id)
    resp = us.get("preferences")
    assert resp.status_code == 503 and resp.headers["content-type"].startswith("text/html")


def test_injected_throttle(us):
    us.sb.add_fault(kind="throttle", next=1, realm=us.realm_id)
    gateway_error(us.get("preferences"), 429)


def test_drop_before_commit(us):
    us.sb.add_fault(kind="drop", next=1, realm=us.realm_id, method="POST")
    with pytest.raises(requests.ConnectionError):
        us.post("customer", {"DisplayName": "Dropped"})
    assert us.query("select * from Customer where DisplayName = 'Dropped'") == {}


def test_commit_then_drop(us):
    us.sb.add_fault(kind="commit_drop", next=1, realm=us.realm_id, method="POST")
    with pytest.raises(requests.ConnectionError):
        us.post("customer", {"DisplayName": "Committed"}, requestid="cd-1")
    assert len(us.query("select * from Customer where DisplayName = 'Committed'")["Customer"]) == 1
    retry = us.post("customer", {"DisplayName": "Committed"}, requestid="cd-1")
    assert retry.status_code == 200 and retry.headers["x-sandbox-replayed"] == "true"


def test_commit_then_timeout(us):
    us.sb.add_fault(kind="commit_hold", hold_seconds=3, next=1, realm=us.realm_id)
    with pytest.raises(requests.ReadTimeout):
        us.http.post(f"{us.url}/customer", json={"DisplayName": "Slow"}, timeout=0.3)
    assert us.query("select * from Customer where DisplayName = 'Slow'")["Customer"]
    entry = us.sb.requests(realm=us.realm_id, entity="Customer", method="POST")[-1]
    assert entry["injected"] == "commit_hold" and entry["status"] == 200


def test_probability_rules(us):
    us.sb.add_fault(kind="error", status=502, probability=1.0, realm=us.realm_id)
    assert {us.get("preferences").status_code for _ in range(3)} == {502}
    us.sb.clear_faults()
    assert us.get("preferences").status_code == 200


def test_timed_outage_fires_for_its_window_then_is_spent(us):
    us.sb.outage(1.0, status=503, realm=us.realm_id)
    [rule] = us.sb.admin("GET", "/faults")["rules"]
    assert rule["until"] == pytest.approx(time.time() + 1.0, abs=0.5)
    assert us.get("preferences").status_code == 503
    wait_for(lambda: us.get("preferences").status_code == 200, timeout=5)
    assert time.time() >= rule["until"]


def test_throttle_outage_sends_retry_after(us):
    us.sb.outage(30, kind="throttle", retry_after=60, realm=us.realm_id)
    resp = us.get("preferences")
    gateway_error(resp, 429)
    assert resp.headers["retry-after"] == "60"
    us.sb.clear_faults()
    assert us.get("preferences").status_code == 200


def test_latency_does_not_block_other_requests(us):
    us.sb.set_faults(realm_latency_ms={us.realm_id: 400})
    results: list[int] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: results.append(us.get("preferences").status_code))
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert results == [200] * 5
    assert 0.4 <= elapsed < 1.5  # served concurrently, not 5 x 400 ms


def test_request_log_counts_calls(us):
    c = us.customer()
    us.invoice(c["Id"], 1, "NON")
    us.query("select * from Invoice")
    rows = us.sb.requests(realm=us.realm_id)
    ops = [(r["method"], r["entity"], r["operation"], r["status"]) for r in rows]
    assert ops == [
        ("POST", "Customer", "create", 200),
        ("POST", "Invoice", "create", 200),
        ("GET", "Invoice", "query", 200),
    ]
    stats = us.sb.stats(us.realm_id)
    assert stats["total"] == 3 and stats["by_operation"]["Invoice.create"] == 1
