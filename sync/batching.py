"""Creates of one realm sent together through QBO's /batch when the realm has a backlog.

QBO takes up to 30 operations in one /batch request and allows 40 of them a minute per realm,
on top of the 500 requests a minute every request counts against (developer.intuit.com "limits
and throttles", "batch"): a realm's backlog goes out at up to 1,200 invoices a minute instead of
500. The document sync (sync/documents.py) hands its create here, at step 6, once its create
intent is committed; everything before and after is the single-document path, unchanged.

Per realm and process, one lane with at most two requests out:
- a create that finds its realm's lane idle goes at once as a single create (no added
  latency for a lone invoice);
- a create that arrives while one request is out and nothing else waits goes at once beside
  it (a steady trickle of invoices keeps the latency of single creates);
- creates that arrive when the lane is busier wait in the lane; when it is idle again, the next
  waiting create's thread sends what waits: up to 30 in one /batch (one alone: a single
  create). Under a backlog the runtime keeps a realm's handlers busy (its per-realm bound), so
  batches fill up on their own, with no timer (a 50 ms gathering window was measured in
  bench/month_end.py: no more batches on a CPU-bound machine, only added latency);
- each item's result (its `bId` is its position, ≤ 10 characters) goes back to its own
  document; an item's Fault is that document's error, raised in its own sync where
  `sync.failures` classifies it like a single create's (a duplicate DocNumber is adopted or
  failed by the same rule), never the batch's. An error of the whole request (throttled, 5xx,
  connection lost) is every item's error: each document retries on its own;
- every item's lease is renewed (`ready`) when the batch is formed and again right before it
  leaves, inside its quota grant (a wait for the realm's batch window can be as long as a
  lease): an item that lost its lease to another sync drops out instead of being created
  twice, and the others go at once without it.
Exactly once holds as for a single create: each item's create intent is committed before the
batch leaves, so a retry after a lost batch answer looks its document up in QBO (DocNumber, our
PrivateNote marker) and adopts it instead of creating it again; the batch's own requestid is
deterministic, derived from its items' requestids (≤ 36 characters: "sq-" + 32 hex digits), so
the client's retry of a batch whose answer was lost is answered by QBO from its first run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qbo import errors as qbo_errors
from qbo import requestids
from qbo.client import MAX_BATCH, QboClient

__all__ = ["CreateBatcher"]


@dataclass(eq=False)
class _Create:
    api: QboClient  # the document's client, counting its calls and keeping its lease
    entity: str
    payload: Mapping[str, Any]
    request_id: str
    ready: Callable[[], None]  # renews the document's lease; raises when it was lost
    result: dict[str, Any] | None = None
    error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None


@dataclass
class _Lane:
    """One realm's creates in this process."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    waiting: list[_Create] = field(default_factory=list)
    out: int = 0  # requests of the lane out now (2 at most)


@dataclass
class BatchStats:
    singles: int = 0
    batches: int = 0
    batched: int = 0  # creates sent inside a batch


class CreateBatcher:
    """Thread-safe; one per process (shared by every document sync)."""

    def __init__(self, max_batch: int = MAX_BATCH) -> None:
        if not 1 <= max_batch <= MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} items")
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()

    def create(
        self,
        api: QboClient,
        entity: str,
        payload: Mapping[str, Any],
        *,
        request_id: str,
        ready: Callable[[], None] = lambda: None,
    ) -> dict[str, Any]:
        """Creates `payload` as a QBO `entity`, alone or in a batch; returns the entity QBO
        saved, or raises its error (the item's Fault when it went in a batch)."""
        item = _Create(api, entity, payload, request_id, ready)
        lane = self._lane(api.realm_id)
        with lane.cond:
            lane.waiting.append(item)
            while not item.done:
                if not _may_send(lane):
                    lane.cond.wait()
                    continue
                group = lane.waiting[: self.max_batch]
                del lane.waiting[: self.max_batch]
                lane.out += 1
                lane.cond.release()
                try:
                    self._send(group)
                finally:
                    lane.cond.acquire()
                    lane.out -= 1
                    lane.cond.notify_all()
        if item.error is not None:
            raise item.error
        assert item.result is not None
        return item.result

    def _lane(self, realm_id: str) -> _Lane:
        with self._lock:
            lane = self._lanes.get(realm_id)
            if lane is None:
                lane = self._lanes[realm_id] = _Lane()
            return lane

    def _send(self, group: list[_Create]) -> None:
        """Sends `group` (every item gets its result or error, whatever happens)."""
        try:
            ready = [item for item in group if _renewed(item)]
            while ready:
                try:
                    if len(ready) == 1:
                        self._single(ready[0])
                    else:
                        self._batch(ready)
                    return
                except _LeaseRanOut:  # those items have their error: send the others
                    ready = [item for item in ready if not item.done]
        except BaseException as exc:  # the request's own failure is every item's
            for item in group:
                if not item.done:
                    item.error = exc
            _raise_unless_ordinary(exc)

    def _single(self, item: _Create) -> None:
        with self._lock:  # two requests of a lane may be out at once
            self.stats.singles += 1
        try:
            item.result = item.api.create(
                item.entity, dict(item.payload), request_id=item.request_id
            )
        except qbo_errors.QboError as exc:
            item.error = exc

    def _batch(self, group: list[_Create]) -> None:
        with self._lock:
            self.stats.batches += 1
            self.stats.batched += len(group)
        items = [
            {"bId": str(n), "operation": "create", item.entity: dict(item.payload)}
            for n, item in enumerate(group)
        ]
        rid = requestids.make("batch", *(item.request_id for item in group))

        def keep_leases() -> None:  # right before the batch leaves, after its quota wait
            if not all([_renewed(item) for item in group]):  # each one, not up to a lost one
                raise _LeaseRanOut

        answers = group[0].api.kept_only(keep_leases).batch(items, request_id=rid)
        for n, item in enumerate(group):
            answer = answers.get(str(n))
            if isinstance(answer, qbo_errors.QboError):
                item.error = answer
            elif answer is None or not isinstance(answer.get(item.entity), dict):
                # QBO said nothing of this item: it may or may not exist. Transient: the
                # document's next attempt looks it up first (its create intent is committed).
                item.error = qbo_errors.ServerError(
                    f"QBO's batch answer holds no result for item {n} ({item.entity})"
                )
            else:
                item.result = answer[item.entity]


class _LeaseRanOut(Exception):
    """An item of a batch lost its lease while the batch waited for the realm's quota."""


def _may_send(lane: _Lane) -> bool:
    """Idle: send what waits. One request out: a create alone goes at once beside it (a steady
    trickle keeps its single-create latency), but creates that pile up wait for the lane to be
    idle and go together."""
    return lane.out == 0 or (lane.out == 1 and len(lane.waiting) == 1)


def _renewed(item: _Create) -> bool:
    """Renews the item's lease; an item whose lease was lost gets that error and stays out."""
    try:
        item.ready()
    except Exception as exc:
        item.error = exc
        return False
    return True


def _raise_unless_ordinary(exc: BaseException) -> None:
    """Errors are handed to the items; only what must stop the thread is raised here."""
    if not isinstance(exc, Exception):
        raise exc
