"""From parsed notices to durable `qbo.changes` records: route each notice to its account, drop
what was already handed off, publish the rest and wait for the broker, then remember the keys.

Order matters (hand off durably, deduplicate retries; the whole path:
docs/architecture.md#a-payment-back-to-invoicepaid):
1. look up accounts: a realm nobody connected is ignored (counted), never published;
2. drop dedupe keys already recorded in the delivery log;
3. publish the rest and wait for the broker's acknowledgement (`HandoffFailed` → 503, retried);
4. only then record their keys, so a failed hand-off is never mistaken for a delivered one.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from api.deliveries import DeliveryLog
from api.errors import HandoffFailed, Unavailable
from api.metrics import WebhookMetrics
from api.notices import Notice
from api.publisher import ChangePublisher
from api.realms import RealmLookup

__all__ = ["Intake", "Tally", "event_id", "to_record"]

log = logging.getLogger(__name__)

# Namespace of the uuid5 event ids: the same notice always gets the same `event_id`, so a
# re-publish (a redelivery racing its original, or a hand-off retried after a timeout that
# had in fact succeeded) is recognisable downstream.
_EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:sequence-qbo:qbo.changes")


def event_id(dedupe_key: str) -> str:
    return str(uuid.uuid5(_EVENT_IDS, dedupe_key))


def to_record(notice: Notice, account_id: str) -> dict[str, Any]:
    """The `qbo.changes` value for a webhook notice."""
    return {
        "event_id": event_id(notice.dedupe_key),
        "occurred_at": notice.last_updated,
        "account_id": account_id,
        "realm_id": notice.realm_id,
        "entity": notice.entity,
        "entity_id": notice.entity_id,
        "operation": notice.operation,
        "last_updated": notice.last_updated,
        "source": "WEBHOOK",
        "dedupe_key": notice.dedupe_key,
    }


@dataclass(frozen=True)
class Tally:
    """What became of one request's notices."""

    accepted: int = 0
    duplicate: int = 0
    unknown_realm: int = 0

    def outcome(self) -> str:
        """The request's outcome label (metrics.REQUEST_OUTCOMES)."""
        if self.accepted:
            return "accepted"
        if self.duplicate:
            return "duplicate"
        return "unknown_realm" if self.unknown_realm else "empty"


class Intake:
    def __init__(
        self,
        account_for_realm: RealmLookup,
        deliveries: DeliveryLog,
        publisher: ChangePublisher,
        metrics: WebhookMetrics,
    ) -> None:
        self._lookup = account_for_realm
        self._deliveries = deliveries
        self._publisher = publisher
        self._metrics = metrics

    def handle(self, notices: Sequence[Notice], deadline: float) -> Tally:
        """Hands `notices` off durably before `deadline` (`time.monotonic()` seconds); raises
        `Unavailable` when that cannot be done now."""
        routed, unknown = self._route(notices)
        seen = self._deliveries.seen(routed.keys())
        fresh = {key: record for key, record in routed.items() if key not in seen}
        self._handoff(list(fresh.values()), deadline)
        self._remember(fresh.keys())
        tally = Tally(len(fresh), len(notices) - unknown - len(fresh), unknown)
        self._count(tally)
        return tally

    def _route(self, notices: Sequence[Notice]) -> tuple[dict[str, dict[str, Any]], int]:
        """(dedupe key → record) for notices of connected realms, and how many were not."""
        accounts = {realm: self._lookup(realm) for realm in {n.realm_id for n in notices}}
        for realm in sorted(r for r, account in accounts.items() if account is None):
            log.info("ignoring webhook notices of realm %s: no account connected it", realm)
        routed: dict[str, dict[str, Any]] = {}
        for notice in notices:
            account = accounts[notice.realm_id]
            if account is not None:
                routed.setdefault(notice.dedupe_key, to_record(notice, account))
        unknown = sum(1 for n in notices if accounts[n.realm_id] is None)
        return routed, unknown

    def _handoff(self, records: list[dict[str, Any]], deadline: float) -> None:
        if not records:
            return
        started = time.monotonic()
        if started >= deadline:  # queued too long already: Intuit would not wait for the answer
            raise HandoffFailed("no time left to hand off before the response deadline")
        self._publisher.publish(records, timeout=deadline - started)
        self._metrics.handoff_seconds.observe(time.monotonic() - started)

    def _remember(self, keys: Collection[str]) -> None:
        try:
            self._deliveries.record(keys)
        except Unavailable as exc:
            # Already durable in Kafka, so still a 200: a redelivery would only re-publish the
            # same event ids, which downstream recognises.
            log.warning("handed off but not recorded as delivered (%d keys): %s", len(keys), exc)

    def _count(self, tally: Tally) -> None:
        for outcome in ("accepted", "duplicate", "unknown_realm"):
            if getattr(tally, outcome):
                self._metrics.notices.labels(outcome).inc(getattr(tally, outcome))
