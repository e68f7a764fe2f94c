"""Injected faults: what is retried, what is not, and no duplicate after a lost answer."""

from __future__ import annotations

import pytest

from qbo import errors, requestids
from qbo.query import Query
from qbo.retry import RetryPolicy
from qbo.transport import Timeouts, Transport

from .conftest import Connected

pytestmark = pytest.mark.integration


def calls(sb, realm_id: str, **match: str) -> list[dict]:
    # By path: the emulator logs a replayed request with entity "customer", no operation.
    return [r for r in sb.requests(realm=realm_id) if all(r.get(k) == v for k, v in match.items())]


def creates(sb, realm_id: str) -> list[dict]:
    return calls(sb, realm_id, method="POST", path="/customer")


def named(c: Connected, name: str) -> list[dict]:
    return list(c.client.query(Query("Customer").where("DisplayName", "=", name)))


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_on_reads_are_retried(us: Connected, sb, status: int) -> None:
    sb.add_fault(kind="error", status=status, next=2, realm=us.realm_id, method="GET")
    assert us.client.get("Item", "1")["Id"] == "1"
    got = [r["status"] for r in calls(sb, us.realm_id, method="GET")]
    assert got == [status, status, 200]


def test_persistent_server_error_surfaces_as_retryable(us: Connected, sb) -> None:
    sb.add_fault(kind="error", status=503, next=10, realm=us.realm_id, method="GET")
    with pytest.raises(errors.ServerError) as exc:
        us.client.get("Item", "1")
    assert exc.value.status == 503 and exc.value.retry_after is not None
    assert len(calls(sb, us.realm_id, method="GET")) == 4  # QUICK.max_attempts


def test_throttle_is_retried_after_the_wait(us: Connected, sb) -> None:
    sb.add_fault(kind="throttle", next=1, realm=us.realm_id)
    assert us.client.get("Item", "1")["Id"] == "1"
    assert [r["status"] for r in calls(sb, us.realm_id)] == [429, 200]


def test_throttle_with_a_long_wait_goes_to_the_caller(us: Connected, sb) -> None:
    """Without Retry-After Intuit says wait 60 s: not slept inline, handed to the caller."""
    us.client.policy = RetryPolicy()  # the real one: 60 s after a 429
    sb.add_fault(kind="throttle", next=1, realm=us.realm_id)
    with pytest.raises(errors.Throttled) as exc:
        us.client.get("Item", "1")
    assert exc.value.status == 429 and exc.value.code == "3001" and exc.value.retry_after == 60
    assert exc.value.intuit_tid


def test_dropped_connection_on_a_read_is_retried(us: Connected, sb) -> None:
    sb.add_fault(kind="drop", next=1, realm=us.realm_id, method="GET")
    assert us.client.get("Item", "1")["Id"] == "1"


def test_committed_then_dropped_create_is_not_duplicated(us: Connected, sb) -> None:
    sb.add_fault(kind="commit_drop", next=1, realm=us.realm_id, method="POST", entity="customer")
    made = us.client.create(
        "Customer", {"DisplayName": "Dropped Ltd"}, request_id=requestids.make("drop", us.realm_id)
    )
    assert [c["Id"] for c in named(us, "Dropped Ltd")] == [made["Id"]]
    posts = creates(sb, us.realm_id)
    assert len(posts) == 2 and posts[1]["replayed"] is True


def test_committed_then_timed_out_create_is_not_duplicated(us: Connected, sb) -> None:
    """The write commits, the answer never comes; the client's read timeout fires; the retry
    with the same requestid gets the original answer instead of a second customer."""
    us.client.transport = Transport(timeouts=Timeouts(connect=2.0, read=1.0))
    sb.add_fault(
        kind="commit_hold",
        hold_seconds=3.0,
        next=1,
        realm=us.realm_id,
        method="POST",
        entity="customer",
    )
    made = us.client.create(
        "Customer", {"DisplayName": "Slow Ltd"}, request_id=requestids.make("hold", us.realm_id)
    )
    assert [c["Id"] for c in named(us, "Slow Ltd")] == [made["Id"]]
    posts = creates(sb, us.realm_id)
    assert len(posts) == 2 and posts[1]["replayed"] is True


def test_a_write_without_requestid_is_never_repeated(us: Connected, sb) -> None:
    sb.add_fault(kind="commit_drop", next=1, realm=us.realm_id, method="POST", entity="customer")
    with pytest.raises(errors.TransportError):
        us.client.call("POST", "customer", body={"DisplayName": "Once Ltd"})
    assert len(creates(sb, us.realm_id)) == 1
    assert len(named(us, "Once Ltd")) == 1  # it did commit: exactly once


def test_server_error_on_a_create_is_retried_with_the_same_requestid(us: Connected, sb) -> None:
    sb.add_fault(
        kind="error", status=502, next=1, realm=us.realm_id, method="POST", entity="customer"
    )
    rid = requestids.make("502", us.realm_id)
    us.client.create("Customer", {"DisplayName": "Gateway Ltd"}, request_id=rid)
    posts = creates(sb, us.realm_id)
    assert [p["requestid"] for p in posts] == [rid, rid] and len(named(us, "Gateway Ltd")) == 1
