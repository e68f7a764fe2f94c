"""Publishes document states on `qbo.sync_status` (docs/events.md#qbosync_status): once per
state change.

A state is the ledger row's status and reason (docs/failures.md), and the version QBO holds (a
new version synced is announced too). Each attempt compares the row with the state announced
last (`published_status`, `published_reason`, `published_hash`) and publishes only when they
differ, so a document retrying for an hour is announced once, not once per attempt, and a
replay of a synced document announces nothing. The announced state is recorded after
the broker acknowledged it: a crash in between announces it again (at least once).

Readers that know only the first version of the schema see `status` (retrying and waiting
are `FAILED` for them, with the reason code); newer readers read `state` and `state_since`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from publishing import Publisher, Record
from schemas.serde import Serde
from store import ledger
from store.db import Database, Row
from store.ledger import DocKey
from sync.documents import SyncResult

# Ledger status → (status for every reader, state for readers of the current schema).
_BY_STATUS = {
    "synced": ("SYNCED", "SYNCED"),
    "failed": ("FAILED", "FAILED"),
    "voided": ("VOIDED", "VOIDED"),
    "retrying": ("FAILED", "RETRYING"),
    "waiting": ("FAILED", "WAITING"),
}
# Without a ledger to compare with (no database given): one publication per attempt.
_BY_OUTCOME = {
    "created": "synced",
    "updated": "synced",
    "adopted": "synced",
    "failed": "failed",
    "voided": "voided",
    "retrying": "retrying",
    "waiting": "waiting",
}


class SyncStatusPublisher:
    """Waits for the broker's acknowledgement, so the status is durable before the input
    message's offset is stored. With `db`, publishes state changes only (the normal case)."""

    def __init__(
        self,
        publisher: Publisher,
        serde: Serde,
        topic: str,
        *,
        timeout: float = 30.0,
        db: Database | None = None,
    ) -> None:
        self.publisher, self.serde, self.topic, self.timeout = publisher, serde, topic, timeout
        self.db = db

    def __call__(self, key: DocKey, result: SyncResult, realm_id: str | None) -> None:
        """After a document sync (`sync.documents.StatusSink`)."""
        if self.db is not None:
            self.publish_state(key, realm_id)
            return
        status = _BY_OUTCOME.get(result.outcome)
        if status is None:  # unchanged: nothing new to say
            return
        self._publish(
            key,
            {
                "status": status,
                "reason_code": result.reason_code,
                "message": result.message,
                "qbo_id": result.qbo_id,
                "attempts": 1,
                "state_since": None,
            },
            realm_id,
        )

    def publish_state(self, key: DocKey, realm_id: str | None = None) -> bool:
        """Announces the document's ledger state if it changed since the last announcement;
        True when it published."""
        assert self.db is not None, "publishing state changes needs the ledger"
        row = ledger.get(self.db, key)  # one statement: no transaction round trips around it
        if row is None or row["status"] not in _BY_STATUS or not ledger.publication_due(row):
            return False
        self._publish(key, row, realm_id or row.get("realm_id"))
        ledger.mark_published(
            self.db, key, row["status"], row["reason_code"], row.get("payload_hash")
        )
        return True

    def _publish(self, key: DocKey, row: Row | dict[str, Any], realm_id: str | None) -> None:
        status, state = _BY_STATUS[row["status"]]
        since = row.get("state_since")
        record = {
            "event_id": uuid.uuid4(),
            "occurred_at": dt.datetime.now(dt.UTC),
            "account_id": key.account_id,
            "document_type": str(key.document_type).upper(),
            "document_id": key.sequence_id,
            "status": status,
            "reason_code": row.get("reason_code"),
            "message": row.get("message"),
            "realm_id": realm_id,
            "qbo_id": row.get("qbo_id"),
            "attempts": int(row.get("attempts") or 1),
            "state": state,
            "state_since": since,
        }
        value = self.serde.encode("qbo.sync_status", self.topic, record)
        self.publisher.publish([Record(self.topic, key.sequence_id, value)], self.timeout)
