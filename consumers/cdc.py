"""The CDC poller: catches the Invoice and Payment changes webhooks missed (docs/architecture.md).

Every `interval` seconds, for each realm with an active connection:
  1. lock the realm's watermark row (`for update skip locked`: another process polling the
     same realm skips it) and note the pass's start time;
  2. plan: CDC since `watermark - overlap` (the overlap covers clock skew between us and QBO
     and changes committed while the last pass ran); no watermark, or one beyond CDC's 30-day
     look-back, or a CDC answer cut at QBO's 1000-object limit → rescan instead: an RESCAN
     notice for every invoice of ours not yet known to be paid;
  3. publish the notices to `qbo.changes` (keyed by realm, like the webhook's) and wait for
     the broker's acks;
  4. move the watermark to the pass's start, commit.
A failure anywhere before 4 leaves the watermark where it was: the next pass covers the same
window again. Repeated notices are harmless; the reconciler is idempotent per invoice, and a
notice about a change it already read costs no QBO call (consumers/reconcile.py, step 0): a
pass whose overlap holds only changes already reconciled costs one request per realm, the CDC
call itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from publishing import Publisher, PublishFailed, Record
from qbo import errors as qbo_errors
from qbo.client import ClientProvider, QboClient
from schemas.serde import Serde, SerdeError
from store import reconcile as store
from store.db import Database, Row, StoreError, Tx

__all__ = ["CdcPoller", "cdc_notices", "plan", "rescan_notices"]

log = logging.getLogger(__name__)

EVENT = "qbo.changes"
ENTITIES = ("Invoice", "Payment")
WINDOW = dt.timedelta(days=30)  # CDC looks back at most 30 days (Intuit's CDC docs)
SAFETY = dt.timedelta(hours=1)  # stay clear of the window's edge: QBO's clock is not ours
MAX_OBJECTS = 1000  # CDC returns at most 1000 objects per answer
_EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sequence-qbo:qbo.changes")


class _OtherRealm(Exception):
    """The account's connection moved to another realm since the realm list was read."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def plan(
    watermark: dt.datetime | None, now: dt.datetime, overlap: dt.timedelta
) -> dt.datetime | None:
    """`changedSince` for this pass, or None for a rescan (no watermark, or too old for CDC)."""
    if watermark is None:
        return None
    since = watermark - overlap
    return since if since > now - WINDOW + SAFETY else None


def _notice(
    account_id: str,
    realm_id: str,
    entity: str,
    entity_id: str,
    operation: str,
    last_updated: dt.datetime,
    source: str,
) -> dict[str, Any]:
    millis = int(last_updated.timestamp() * 1000)
    key = f"{source.lower()}/{realm_id}/{entity}/{entity_id}/{millis}"
    return {
        "event_id": str(uuid.uuid5(_EVENT_IDS, key)),
        "occurred_at": last_updated,
        "account_id": account_id,
        "realm_id": realm_id,
        "entity": entity,
        "entity_id": entity_id,
        "operation": operation,
        "last_updated": last_updated,
        "source": source,
        "dedupe_key": key,
    }


def _last_updated(obj: Mapping[str, Any], default: dt.datetime) -> dt.datetime:
    stamp = (obj.get("MetaData") or {}).get("LastUpdatedTime")
    if not stamp:
        return default
    parsed = dt.datetime.fromisoformat(str(stamp))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def cdc_notices(
    account_id: str, realm_id: str, changes: Mapping[str, Iterable[Any]], now: dt.datetime
) -> list[dict[str, Any]]:
    """One CDC notice per changed object; a deleted one (`status: "Deleted"`) as a Delete."""
    out = []
    for entity in ENTITIES:
        for obj in changes.get(entity) or []:
            operation = "Delete" if obj.get("status") == "Deleted" else "Update"
            out.append(
                _notice(
                    account_id,
                    realm_id,
                    entity,
                    str(obj["Id"]),
                    operation,
                    _last_updated(obj, now),
                    "CDC",
                )
            )
    return out


def rescan_notices(
    realm_id: str, open_invoices: Iterable[Row], now: dt.datetime
) -> list[dict[str, Any]]:
    return [
        _notice(
            row["account_id"], realm_id, "Invoice", row["qbo_invoice_id"], "Update", now, "RESCAN"
        )
        for row in open_invoices
    ]


class CdcPoller:
    """Polls every connected realm until stopped. Construction does no I/O."""

    name = "cdc-poller"

    def __init__(
        self,
        db: Database,
        clients: ClientProvider,
        publisher: Publisher,
        serde: Serde,
        topic: str,
        *,
        interval: float = 60.0,
        overlap: dt.timedelta = dt.timedelta(minutes=5),
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.db, self.clients, self.publisher = db, clients, publisher
        self.serde, self.topic = serde, topic
        self.interval, self.overlap, self.clock = interval, overlap, clock

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_all()
            except Exception:  # the loop must outlive a database outage
                log.exception("CDC pass failed; retrying in %.0fs", self.interval)
            stop.wait(self.interval)

    def poll_all(self) -> int:
        """One pass over every connected realm; returns how many notices it published."""
        total = 0
        for row in store.realms_to_poll(self.db):
            total += self._poll_safely(row["account_id"], row["realm_id"])
        return total

    def _poll_safely(self, account_id: str, realm_id: str) -> int:
        """One realm's failure (throttled, re-auth needed) must not stop the others'."""
        try:
            return self.poll_realm(account_id, realm_id) or 0
        except (qbo_errors.QboError, StoreError, PublishFailed, SerdeError, _OtherRealm) as exc:
            log.warning("CDC pass of realm %s failed: %s", realm_id, exc)
            store.record_poll_error(self.db, realm_id, str(exc))
            return 0

    def poll_realm(self, account_id: str, realm_id: str) -> int | None:
        """Steps 1-4 for one realm; None when another pass holds the realm."""
        with self.db.transaction() as tx:
            row = store.lock_watermark(tx, realm_id)
            if row is None:
                return None
            started = self.clock()
            notices, mode = self._changes(tx, account_id, realm_id, row["watermark"], started)
            self._publish(realm_id, notices)
            store.advance_watermark(tx, realm_id, started, mode, len(notices))
        # Every realm is polled every interval: only a pass that found something is news.
        log.log(
            logging.INFO if notices else logging.DEBUG,
            "CDC %s of realm %s: %d notice(s)",
            mode,
            realm_id,
            len(notices),
        )
        return len(notices)

    def _changes(
        self,
        tx: Tx,
        account_id: str,
        realm_id: str,
        watermark: dt.datetime | None,
        now: dt.datetime,
    ) -> tuple[list[dict[str, Any]], str]:
        since = plan(watermark, now, self.overlap)
        if since is not None:
            changes = self._client(account_id, realm_id).cdc(list(ENTITIES), since)
            if sum(len(v) for v in changes.values()) < MAX_OBJECTS:
                return cdc_notices(account_id, realm_id, changes, now), "cdc"
            log.warning(
                "CDC of realm %s hit the %d-object limit: rescanning", realm_id, MAX_OBJECTS
            )
        return rescan_notices(realm_id, store.open_invoices(tx, realm_id), now), "rescan"

    def _client(self, account_id: str, realm_id: str) -> QboClient:
        client = self.clients(account_id)
        if client.realm_id != realm_id:
            raise _OtherRealm(f"account {account_id} is no longer connected to realm {realm_id}")
        return client

    def _publish(self, realm_id: str, notices: list[dict[str, Any]]) -> None:
        records = [
            Record(self.topic, realm_id, self.serde.encode(EVENT, self.topic, n)) for n in notices
        ]
        self.publisher.publish(records, timeout=30.0)
