"""consumers/_sync_outcome.py: the one place a sync's result or error becomes a runtime outcome,
the error's state recorded first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from consumers._sync_outcome import outcome_for, outcome_of
from consumers.runtime.types import Done, Failed, Retry
from qbo import errors as qbo_errors
from store.db import StoreUnavailable
from store.ledger import DocKey, DocumentType
from sync import failures
from sync.documents import SyncResult
from sync.errors import Unavailable
from sync.failures import Verdict

KEY = DocKey("acct_1", DocumentType.INVOICE, "inv_1")
NOTE = DocKey("acct_1", DocumentType.CREDIT_NOTE, "cn_1")


@dataclass
class Recorded:
    calls: list[tuple[DocKey, Verdict, DocKey | None]] = field(default_factory=list)
    fail_with: Exception | None = None

    def __call__(self, key: DocKey, verdict: Verdict, waits_for: DocKey | None) -> bool:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append((key, verdict, waits_for))
        return True


def _raise(exc: Exception) -> Any:
    def run() -> Any:
        raise exc

    return run


def test_a_throttle_is_a_realm_retry_after_what_qbo_asked_and_is_recorded() -> None:
    record = Recorded()
    exc = qbo_errors.Throttled("ThrottleExceeded", status=429, code="3001", retry_after=30.0)
    outcome = outcome_of(_raise(exc), key=KEY, record=record)
    assert isinstance(outcome, Retry)
    assert (outcome.scope, outcome.after) == ("realm", 30.0)
    assert outcome.reason.startswith("qbo_throttled: ")
    assert [(k, v.kind, v.reason) for k, v, _ in record.calls] == [
        (KEY, "retrying", "qbo_throttled")
    ]


def test_a_429_under_customer_auto_create_holds_the_realm_back_too() -> None:
    cause = qbo_errors.Throttled("ThrottleExceeded", status=429, retry_after=45.0)
    exc = Unavailable("qbo_unavailable", "QBO could not create customer now", retry_after=45.0)
    exc.__cause__ = cause
    outcome = outcome_of(_raise(exc))
    assert isinstance(outcome, Retry) and (outcome.scope, outcome.after) == ("realm", 45.0)


def test_a_permanent_rejection_is_failed_with_its_reason() -> None:
    record = Recorded()
    exc = qbo_errors.DuplicateDocNumber("Duplicate Document Number Error", status=400, code="6210")
    outcome = outcome_of(_raise(exc), key=KEY, record=record)
    assert isinstance(outcome, Failed) and outcome.reason_code == "duplicate_doc_number"
    assert "6210" in outcome.message and record.calls[0][1].kind == "failed"


def test_a_stored_wait_is_done_and_says_what_it_waits_for() -> None:
    record = Recorded()
    exc = failures.Waiting("cn_1 waits for inv_1", waits_for=KEY)
    assert outcome_of(_raise(exc), key=NOTE, record=record) == Done("waiting")
    assert record.calls == [
        (NOTE, failures.waiting("invoice_not_synced", "cn_1 waits for inv_1"), KEY)
    ]


def test_a_wait_that_could_not_be_stored_keeps_the_message() -> None:
    outcome = outcome_of(_raise(failures.Waiting("waits")))
    assert isinstance(outcome, Retry) and outcome.scope == "key"


def test_our_own_infrastructure_failing_is_retried_without_touching_the_documents_state() -> None:
    # e.g. the broker did not acknowledge the announcement of a document already recorded synced
    record = Recorded()
    exc = Unavailable("kafka_unavailable", "the broker did not acknowledge 1 record(s)")
    outcome = outcome_of(_raise(exc), key=KEY, record=record)
    assert isinstance(outcome, Retry) and outcome.scope == "key"
    assert record.calls == []


def test_a_state_that_cannot_be_recorded_is_retried_never_lost() -> None:
    record = Recorded(fail_with=StoreUnavailable("connection refused"))
    exc = qbo_errors.NotFound("Object Not Found", status=400, code="610")
    outcome = outcome_of(_raise(exc), key=KEY, record=record)
    assert isinstance(outcome, Retry) and "database_unavailable" in outcome.reason


def test_an_exception_nobody_anticipated_goes_to_the_runtime() -> None:
    with pytest.raises(KeyError):
        outcome_of(_raise(KeyError("bug")), key=KEY, record=Recorded())


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (SyncResult("created", qbo_id="1"), Done("created")),
        (SyncResult("unchanged"), Done("unchanged")),
        (SyncResult("waiting", "invoice_not_synced", "waits"), Done("waiting")),
        (SyncResult("failed", "item_not_mapped", "p_1"), Failed("item_not_mapped", "p_1")),
        (
            SyncResult("retrying", "qbo_unavailable", "503", retry_after=7.0, scope="realm"),
            Retry("qbo_unavailable: 503", after=7.0, scope="realm"),
        ),
        (
            SyncResult("busy", "document_busy", "held", retry_after=1.0),
            Retry("document_busy: held", after=1.0, scope="key"),
        ),
    ],
)
def test_results_the_sync_recorded_itself(result: SyncResult, expected: object) -> None:
    assert outcome_of(lambda: result) == expected


def test_verdicts_map_to_outcomes() -> None:
    assert outcome_for(failures.failed("qbo_rejected", "no"), stored=True) == Failed(
        "qbo_rejected", "no"
    )
    retry = outcome_for(failures.retrying("database_unavailable", "down"), stored=True)
    assert retry == Retry("database_unavailable: down", after=1.0, scope="key")
