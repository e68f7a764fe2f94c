"""Small rules of the document sync that need no I/O."""

from __future__ import annotations

from qbo import errors
from sync import documents


def test_6140_is_a_duplicate_doc_number_and_a_closed_period_is_not() -> None:
    """QBO answers 6140 for a taken DocNumber; 6210 is "Account Period Closed" (its words tell
    an old-style duplicate apart: then the client raises DuplicateDocNumber)."""
    assert documents._duplicate_number(errors.Validation("Duplicate Doc Num", code="6140"))
    assert documents._duplicate_number(errors.DuplicateDocNumber("taken", code="6210"))
    assert not documents._duplicate_number(errors.Validation("Account Period Closed", code="6210"))
    assert not documents._duplicate_number(errors.Validation("other", code="6000"))


def test_a_replay_of_the_synced_snapshot_needs_no_call_and_a_voided_invoice_is_final() -> None:
    # The claimed row: its snapshot is the event's, unless the ledger holds a newer one.
    row = {"snapshot_hash": "s1", "status": "synced", "synced_snapshot_hash": "s1", "qbo_id": "7"}
    assert documents._replayed(row, "s1", False) == documents.SyncResult("unchanged", qbo_id="7")
    assert documents._replayed(row, "s1", True) is None  # resync rebuilds
    assert documents._replayed(row, "s0", False) == documents.SyncResult("stale")
    # Stored before the QBO call, not synced yet (a crash in between): it is synced again.
    pending = {**row, "synced_snapshot_hash": "s0"}
    assert documents._replayed(pending, "s1", False) is None
    assert documents._replayed({**row, "status": "failed"}, "s1", False) is None
    voided = {**row, "status": "voided", "synced_snapshot_hash": "s0"}
    assert documents._replayed(voided, "s1", True).outcome == "unchanged"


def test_requestids_stay_the_same_until_qbo_refuses_an_attempt_for_good() -> None:
    pending = {"status": "pending", "attempts": 0}
    retrying = {"status": "retrying", "attempts": 3}
    refused = {"status": "failed", "attempts": 3}
    again = {"status": "failed", "attempts": 4}
    parts = ("acct", "invoice", "inv_1", "hash", "create")
    same = documents._request_id(pending, *parts)
    assert documents._request_id(retrying, *parts) == same  # a lost answer is deduplicated
    assert documents._request_id(refused, *parts) not in (same, None)
    assert documents._request_id(again, *parts) != documents._request_id(refused, *parts)
    assert documents._request_id(refused, *parts) == documents._request_id(refused, *parts)
