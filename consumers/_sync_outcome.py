"""The one place a sync's result, or the error it raised, becomes a runtime outcome.

The error's state comes from the taxonomy (`sync.failures.classify`, docs/failures.md) and is
recorded in the ledger and announced on `qbo.sync_status` (once per change) before the outcome
is returned (except a key-scoped retry: our own infrastructure, not the document's state):

    retrying  → Retry(scope=realm|key, after=the Retry-After asked for): waited out, no DLQ
    failed    → Failed: done with the message; `resync` (or the event that clears the reason)
                syncs it again
    waiting   → Done("waiting") once stored: a durable state, woken by what it waits for
    (None)    → re-raised: a bug; the runtime retries it with capped backoff and logs it
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from consumers._holder import holder
from consumers.runtime.types import Done, Event, Failed, Outcome, Retry
from qbo.invoice import payload_hash
from store import ledger
from store.db import Database
from store.ledger import DocKey
from sync import failures
from sync.failures import Verdict

__all__ = [
    "LedgerRecorder",
    "Recorder",
    "Snapshot",
    "document_outcome",
    "outcome_for",
    "outcome_of",
    "recorder_for",
    "result_outcome",
    "synced_outcome",
]

# Least wait before a retry when the other side asked for none (the runtime backs off from it).
_RETRY_FLOOR = 1.0


class Recorder(Protocol):
    """Stores a verdict as the document's state (and announces it); True once stored."""

    def __call__(self, key: DocKey, verdict: Verdict, waits_for: DocKey | None) -> bool: ...


def outcome_of(
    run: Callable[[], Any], *, key: DocKey | None = None, record: Recorder | None = None
) -> Outcome:
    """Runs a sync; its result or its error as an outcome. With `key` and `record`, an error's
    state is stored on the document's ledger row first."""
    try:
        result = run()
    except Exception as exc:
        verdict = failures.classify(exc)
        if verdict is None:
            raise
        return _settle(verdict, key, record, getattr(exc, "waits_for", None))
    return result_outcome(result)


def result_outcome(result: Any) -> Outcome:
    """A `SyncResult` (or any result with `outcome`, `reason_code`, `message`) as an outcome;
    the sync recorded its state itself (`waiting` is stored: done with the message)."""
    if isinstance(result, Done):
        return result
    outcome = str(result.outcome)
    if outcome == "failed":
        return Failed(result.reason_code or "failed", result.message or "")
    if outcome in ("retrying", "busy"):  # busy: another sync holds the document right now
        return Retry(
            f"{result.reason_code}: {result.message}",
            after=getattr(result, "retry_after", None) or _RETRY_FLOOR,
            scope=getattr(result, "scope", "key"),
        )
    return Done(outcome)


def outcome_for(verdict: Verdict, *, stored: bool) -> Outcome:
    if verdict.kind == "retrying":
        return Retry(
            f"{verdict.reason}: {verdict.message}",
            after=verdict.retry_after or _RETRY_FLOOR,
            scope=verdict.scope,
        )
    if verdict.kind == "failed":
        return Failed(verdict.reason, verdict.message)
    if stored:
        return Done("waiting")
    # Not stored (no ledger at hand, or it could not be written): keep the message until it is.
    return Retry(f"{verdict.reason}: {verdict.message}", after=2.0, scope="key")


def _settle(
    verdict: Verdict, key: DocKey | None, record: Recorder | None, waits_for: DocKey | None
) -> Outcome:
    if key is None or record is None:
        return outcome_for(verdict, stored=False)
    if verdict.kind == "retrying" and verdict.scope == "key":
        # Our own infrastructure (the database, the broker, the registry), not the document:
        # such an error may come after the document's state was recorded (announcing it, asking
        # for re-syncs), which a `retrying` row must not overwrite. Retried as it is.
        return outcome_for(verdict, stored=False)
    try:
        stored = record(key, verdict, waits_for)
    except Exception as exc:  # the ledger or the broker is down: the state is not recorded yet
        later = failures.classify(exc)
        if later is None:
            raise
        return Retry(
            f"{verdict.reason} not recorded yet ({later.reason}: {later.message})",
            after=later.retry_after or _RETRY_FLOOR,
            scope="key",
        )
    return outcome_for(verdict, stored=stored)


# Announces a document's ledger state if it changed (`consumers.status.SyncStatusPublisher`).
Announce = Callable[[DocKey], object]


@dataclass(frozen=True)
class Snapshot:
    """The document as the event carried it: stored with a state recorded before the sync
    stored it itself (an error before the sync began, e.g. tokens that cannot be decrypted),
    so that `resync` has something to sync once the cause is fixed."""

    customer_id: str
    value: dict[str, Any]
    occurred_at: dt.datetime | None

    @classmethod
    def of(cls, doc: Any, occurred_at: dt.datetime | None) -> Snapshot:
        return cls(doc.customer_id, doc.model_dump(mode="json"), occurred_at)


@dataclass(frozen=True)
class LedgerRecorder:
    """Stores verdicts on the ledger row (created when missing) with an attempt record, then
    announces the state; `customer_id` fills the row's customer (re-sync on link), `snapshot`
    the document itself when the row has none yet."""

    db: Database
    announce: Announce | None = None
    customer_id: str | None = None
    snapshot: Snapshot | None = None

    def __call__(self, key: DocKey, verdict: Verdict, waits_for: DocKey | None) -> bool:
        with self.db.transaction() as tx:
            cid = self.customer_id
            if self.snapshot is not None:
                cid = self.snapshot.customer_id
                ledger.receive(
                    tx,
                    key,
                    customer_id=cid,
                    snapshot=self.snapshot.value,
                    snapshot_hash=payload_hash(self.snapshot.value),
                    occurred_at=self.snapshot.occurred_at,
                )
            if verdict.kind == "retrying":
                ledger.mark_retrying(tx, key, verdict.reason, verdict.message, customer_id=cid)
            elif verdict.kind == "waiting":
                ledger.mark_waiting(
                    tx, key, verdict.reason, verdict.message, waits_for, customer_id=cid
                )
            else:
                ledger.record_failure(tx, key, verdict.reason, verdict.message, customer_id=cid)
            ledger.record_attempt(
                tx, key, outcome=verdict.kind, reason_code=verdict.reason, message=verdict.message
            )
        if self.announce is not None:
            self.announce(key)
        return True


def recorder_for(sync: Any, snapshot: Snapshot | None = None) -> LedgerRecorder:
    """The recorder of a `DocumentSync`: its database, and its status sink's announcements when
    the sink compares states (`SyncStatusPublisher` built with the database)."""
    status: Any = getattr(sync, "status", None)
    gated = getattr(status, "db", None) is not None
    announce: Announce | None = status.publish_state if gated else None
    return LedgerRecorder(sync.db, announce, snapshot=snapshot)


def synced_outcome(
    sync: Any,
    event: Event,
    doc_type: ledger.DocumentType,
    account_id: str,
    doc: Any,
    occurred_at: dt.datetime,
) -> Outcome:
    """A document event's `sync.sync` (invoice.finalized/sent, credit_note.sent) as an outcome:
    the event's delivery holds the document's lease; an error's state goes to its row, with the
    event's document."""
    key = DocKey(account_id, doc_type, doc.id)
    return document_outcome(
        sync,
        key,
        lambda: sync.sync(account_id, doc, occurred_at, holder=holder(event)),
        doc=doc,
        occurred_at=occurred_at,
    )


def document_outcome(
    sync: Any,
    key: DocKey,
    run: Callable[[], Any],
    *,
    doc: Any = None,
    occurred_at: dt.datetime | None = None,
) -> Outcome:
    """`outcome_of` for a document sync: an error's state goes to the document's row (with
    `doc`, the event's document, stored there when the sync did not get to store it)."""
    snapshot = Snapshot.of(doc, occurred_at) if doc is not None else None
    return outcome_of(run, key=key, record=recorder_for(sync, snapshot))
