"""sync.batching: a lone create goes alone at once; creates arriving while the realm's request
is out go together in one /batch; each item's result or fault goes to its own document; a
failure of the whole request is every item's; an item whose lease was lost stays out."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from qbo import errors
from sync.batching import CreateBatcher
from tests.helpers import wait_until


class FakeApi:
    """A realm's client: creates take `latency` seconds; `fail` maps a DocNumber to its fault."""

    def __init__(self, latency: float = 0.05, fail: dict[str, errors.QboError] | None = None):
        self.realm_id = "r1"
        self.latency = latency
        self.fail = fail or {}
        self.requests: list[tuple[str, int]] = []  # ("create" | "batch", items)
        self.batch_error: Exception | None = None
        self._ids = 0
        self._lock = threading.Lock()

    def _saved(self, payload: dict[str, Any]) -> dict[str, Any] | errors.QboError:
        if payload["DocNumber"] in self.fail:
            return self.fail[payload["DocNumber"]]
        with self._lock:
            self._ids += 1
            return {**payload, "Id": str(self._ids), "SyncToken": "0"}

    def create(self, entity: str, payload: dict[str, Any], *, request_id: str) -> Any:
        self.requests.append(("create", 1))
        time.sleep(self.latency)
        saved = self._saved(payload)
        if isinstance(saved, errors.QboError):
            raise saved
        return saved

    def kept_only(self, hook: Any) -> _Kept:
        return _Kept(self, hook)

    def batch(self, items: list[dict[str, Any]], *, request_id: str) -> dict[str, Any]:
        assert len(request_id) <= 36 and all(len(i["bId"]) <= 10 for i in items)
        self.requests.append(("batch", len(items)))
        time.sleep(self.latency)
        if self.batch_error is not None:
            raise self.batch_error
        out: dict[str, Any] = {}
        for item in items:
            saved = self._saved(item["Invoice"])
            out[item["bId"]] = saved if isinstance(saved, errors.QboError) else {"Invoice": saved}
        return out


class _Kept:
    """The client's `kept_only`: `hook` runs right before the batch leaves (after its quota
    wait), and an exception it raises means nothing is sent."""

    def __init__(self, api: FakeApi, hook: Any) -> None:
        self.api, self.hook = api, hook

    def batch(self, items: list[dict[str, Any]], *, request_id: str) -> dict[str, Any]:
        self.hook()
        return self.api.batch(items, request_id=request_id)


def _burst(batcher: CreateBatcher, api: FakeApi, numbers: list[str], **kw: Any) -> dict:
    results: dict[str, Any] = {}

    def one(number: str) -> None:
        try:
            results[number] = batcher.create(
                api, "Invoice", {"DocNumber": number}, request_id=f"sq-{number}", **kw
            )
        except Exception as exc:
            results[number] = exc

    threads = [threading.Thread(target=one, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_a_lone_create_goes_alone_and_at_once() -> None:
    api, batcher = FakeApi(latency=0.0), CreateBatcher()
    started = time.monotonic()
    saved = batcher.create(api, "Invoice", {"DocNumber": "1"}, request_id="sq-1")
    assert saved["DocNumber"] == "1"
    assert api.requests == [("create", 1)]
    assert time.monotonic() - started < 0.04  # no waiting for a create alone


def test_a_burst_goes_in_batches_of_at_most_30_each_create_once() -> None:
    api, batcher = FakeApi(), CreateBatcher()
    numbers = [str(n) for n in range(100)]
    results = _burst(batcher, api, numbers)
    assert sorted(r["DocNumber"] for r in results.values()) == sorted(numbers)
    assert len({r["Id"] for r in results.values()}) == 100  # each created once
    assert sum(n for _, n in api.requests) == 100
    assert all(n <= 30 for _, n in api.requests)
    assert len(api.requests) <= 15, api.requests  # versus 100 one by one
    assert batcher.stats.singles + batcher.stats.batched == 100


def test_an_item_fault_is_its_documents_error_only() -> None:
    refused = errors.QboError("Duplicate Document Number Error", code="6140")
    api, batcher = FakeApi(fail={"13": refused}), CreateBatcher()
    results = _burst(batcher, api, [str(n) for n in range(40)])
    assert results.pop("13") is refused
    assert all(isinstance(r, dict) for r in results.values())


def test_a_failed_batch_request_is_every_items_error() -> None:
    api, batcher = FakeApi(), CreateBatcher()
    api.batch_error = errors.TransportError("connection reset after the request left")
    results = _burst(batcher, api, [str(n) for n in range(20)])
    failed = [r for r in results.values() if isinstance(r, errors.TransportError)]
    assert any(kind == "batch" for kind, _ in api.requests)
    assert len(failed) == sum(n for kind, n in api.requests if kind == "batch")


def test_an_item_whose_lease_was_lost_stays_out_of_the_batch() -> None:
    api, batcher = FakeApi(), CreateBatcher()

    class LeaseLost(Exception):
        pass

    def lost() -> None:
        raise LeaseLost

    results: dict[str, Any] = {}

    def one(number: str) -> None:
        ready = lost if number == "5" else (lambda: None)
        try:
            results[number] = batcher.create(
                api, "Invoice", {"DocNumber": number}, request_id=f"sq-{number}", ready=ready
            )
        except Exception as exc:
            results[number] = exc

    threads = [threading.Thread(target=one, args=(str(n),)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert isinstance(results.pop("5"), LeaseLost)
    assert all(isinstance(r, dict) for r in results.values())
    assert sum(n for _, n in api.requests) == 9  # never sent: another sync holds it now


def test_an_item_whose_lease_ran_out_while_the_batch_waited_is_left_out_of_it() -> None:
    """The lease is renewed when the batch is formed and again right before it leaves: a wait
    for the realm's batch window can be as long as a lease, and another sync may hold the
    document by then. The others go at once without it."""
    api, batcher = FakeApi(latency=0.3), CreateBatcher()
    renewals: dict[str, int] = {}

    class LeaseLost(Exception):
        pass

    def ready(number: str) -> None:
        renewals[number] = renewals.get(number, 0) + 1
        if number == "5" and renewals[number] > 1:  # lost during the quota wait
            raise LeaseLost

    results: dict[str, Any] = {}

    def one(number: str) -> None:
        try:
            results[number] = batcher.create(
                api,
                "Invoice",
                {"DocNumber": number},
                request_id=f"sq-{number}",
                ready=lambda: ready(number),
            )
        except Exception as exc:
            results[number] = exc

    threads = [threading.Thread(target=one, args=(str(n),)) for n in range(10)]
    # Two creates out alone (the lane's two requests), then eight waiting: they go together.
    for n, t in enumerate(threads):
        t.start()
        if n < 2:
            wait_until(lambda n=n: len(api.requests) == n + 1, timeout=5)
    for t in threads:
        t.join(10)
    assert isinstance(results.pop("5"), LeaseLost)
    assert all(isinstance(r, dict) for r in results.values()), results
    assert api.requests == [("create", 1), ("create", 1), ("batch", 7)]


def test_the_batch_size_is_bounded() -> None:
    with pytest.raises(ValueError):
        CreateBatcher(max_batch=31)
