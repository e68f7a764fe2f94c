"""The client's call logic over a scripted transport: no HTTP, no sleeping."""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest

from qbo import errors
from qbo.client import QboClient
from qbo.query import Query
from qbo.retry import RetryPolicy
from qbo.transport import Answer


class Script:
    """Answers (or exceptions) in order; records what was sent."""

    def __init__(self, *answers: Any) -> None:
        self.answers, self.sent = deque(answers), []

    def send(self, method: str, url: str, **kw: Any) -> Answer:
        self.sent.append((method, url, kw))
        item = self.answers.popleft()
        if isinstance(item, Exception):
            raise item
        status, body = item
        return Answer(status, {}, body, "", "tid-9")


class Tokens:
    def __init__(self) -> None:
        self.token, self.refreshed = "t1", 0

    def access_token(self) -> str:
        return self.token

    def refresh(self, *, stale: str) -> str:
        self.refreshed += 1
        self.token = "t2"
        return self.token


def client(
    script: Script, tokens: Tokens | None = None, policy: RetryPolicy | None = None
) -> QboClient:
    return QboClient(
        "123",
        base_url="https://qbo.test/",
        transport=script,  # type: ignore[arg-type]
        tokens=tokens or Tokens(),
        sleep=lambda s: None,
        rand=lambda: 1.0,
        policy=policy or RetryPolicy(base=0.01, cap=0.02),
    )


def fault(code: str) -> dict:
    return {
        "Fault": {
            "Error": [{"Message": "m", "Detail": "d", "code": code}],
            "type": "ValidationFault",
        }
    }


def test_url_minorversion_and_requestid() -> None:
    s = Script((200, {"Customer": {"Id": "1"}}))
    client(s).create("Customer", {"DisplayName": "A"}, request_id="sq-1")
    method, url, kw = s.sent[0]
    assert (method, url) == ("POST", "https://qbo.test/v3/company/123/customer")
    assert kw["params"] == {"minorversion": "75", "requestid": "sq-1"}
    assert kw["headers"]["Authorization"] == "Bearer t1"


def test_reads_retry_server_errors() -> None:
    s = Script((503, None), (500, fault("10000")), (200, {"Item": {"Id": "1"}}))
    assert client(s).get("Item", "1") == {"Id": "1"}
    assert len(s.sent) == 3


def test_a_write_without_requestid_is_sent_once() -> None:
    s = Script(errors.TransportError("timed out"))
    with pytest.raises(errors.TransportError):
        client(s).call("POST", "customer", body={})
    assert len(s.sent) == 1


def test_a_write_with_requestid_is_retried() -> None:
    s = Script(errors.TransportError("timed out"), (200, {"Customer": {"Id": "7"}}))
    assert client(s).create("Customer", {}, request_id="sq-2")["Id"] == "7"
    assert [kw["params"]["requestid"] for _, _, kw in s.sent] == ["sq-2", "sq-2"]


def test_a_401_refreshes_once() -> None:
    tokens = Tokens()
    s = Script((401, None), (200, {"Item": {"Id": "1"}}))
    client(s, tokens).get("Item", "1")
    assert tokens.refreshed == 1 and s.sent[1][2]["headers"]["Authorization"] == "Bearer t2"
    s = Script((401, None), (401, None))
    with pytest.raises(errors.AuthError):
        client(s, tokens).get("Item", "1")
    assert len(s.sent) == 2


def test_a_long_throttle_wait_is_handed_back() -> None:
    s = Script((429, None))
    with pytest.raises(errors.Throttled) as exc:
        client(s, policy=RetryPolicy()).get("Item", "1")
    assert exc.value.retry_after == 60 and len(s.sent) == 1


def test_update_reapplies_once_on_conflict_with_a_new_requestid() -> None:
    s = Script(
        (400, fault("5010")),
        (200, {"Customer": {"Id": "1", "SyncToken": "4"}}),
        (200, {"Customer": {"Id": "1", "SyncToken": "5"}}),
    )
    out = client(s).update(
        "Customer", "1", "2", {"Notes": "x"}, request_id="sq-3", reapply_on_conflict=True
    )
    assert out["SyncToken"] == "5"
    assert s.sent[2][2]["json_body"]["SyncToken"] == "4"
    assert s.sent[2][2]["params"]["requestid"] not in ("sq-3", None)


def test_paging_stops_on_a_short_page() -> None:
    s = Script(
        (200, {"QueryResponse": {"Customer": [{"Id": "1"}, {"Id": "2"}]}}),
        (200, {"QueryResponse": {"Customer": [{"Id": "3"}]}}),
    )
    assert [c["Id"] for c in client(s).query(Query("Customer"), page_size=2)] == ["1", "2", "3"]
    assert [kw["data"] for _, _, kw in s.sent] == [
        "SELECT * FROM Customer STARTPOSITION 1 MAXRESULTS 2",
        "SELECT * FROM Customer STARTPOSITION 3 MAXRESULTS 2",
    ]


def test_a_200_with_a_fault_raises() -> None:
    with pytest.raises(errors.DuplicateName):
        client(Script((200, fault("6240")))).create("Customer", {}, request_id="sq-4")


def test_batch_maps_item_faults() -> None:
    s = Script(
        (
            200,
            {
                "BatchItemResponse": [
                    {"bId": "1", "Customer": {"Id": "9"}},
                    {"bId": "2", "Fault": fault("6240")["Fault"]},
                ]
            },
        )
    )
    out = client(s).batch([{"bId": "1"}, {"bId": "2"}], request_id="sq-5")
    assert out["1"]["Customer"]["Id"] == "9" and isinstance(out["2"], errors.DuplicateName)


def test_an_observed_client_tells_its_hook_of_each_call_once() -> None:
    from qbo.client import CallCount

    script = Script(
        (503, {}),  # retried: still one call
        (200, {"Invoice": {"Id": "1"}}),
        (200, {"Preferences": {"Id": "p"}}),
    )
    plain = client(script)
    count = CallCount()
    observed = plain.observed(count)
    observed.get("Invoice", "1")
    observed.preferences()
    observed.preferences()  # from the per-realm cache: no call
    assert (count.calls, len(script.sent)) == (2, 3)
    assert plain.hooks == () and observed.realm_id == plain.realm_id
