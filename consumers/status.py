"""Publishes the outcome of every sync attempt on `qbo.sync_status` (PRODUCT.md §2)."""

from __future__ import annotations

import datetime as dt
import uuid

from confluent_kafka import Producer

from consumers.runtime import kafka
from schemas.serde import Serde
from store.ledger import DocKey
from sync.documents import SyncResult

_STATUS = {
    "created": "SYNCED",
    "updated": "SYNCED",
    "adopted": "SYNCED",
    "unchanged": "SKIPPED",
    "failed": "FAILED",
    "voided": "VOIDED",
}


class SyncStatusPublisher:
    """Waits for the broker's acknowledgement, so the status is durable before the input
    message's offset is stored."""

    def __init__(self, producer: Producer, serde: Serde, topic: str) -> None:
        self.producer, self.serde, self.topic = producer, serde, topic

    def __call__(self, key: DocKey, result: SyncResult, realm_id: str | None) -> None:
        record = {
            "event_id": uuid.uuid4(),
            "occurred_at": dt.datetime.now(dt.UTC),
            "account_id": key.account_id,
            "document_type": str(key.document_type).upper(),
            "document_id": key.sequence_id,
            "status": _STATUS[result.outcome],
            "reason_code": result.reason_code,
            "message": result.message,
            "realm_id": realm_id,
            "qbo_id": result.qbo_id,
            "attempts": 1,
        }
        value = self.serde.encode("qbo.sync_status", self.topic, record)
        kafka.produce_sync(self.producer, self.topic, key=key.sequence_id, value=value)
