"""`customer.updated`: keep the latest snapshot of every Sequence customer, and keep the QBO
customer of a linked one current.

Order of effects (a redelivery after a crash at any step converges):
  1. store the snapshot (unchanged or older ones write nothing);
  2. for a linked customer whose stored snapshot differs from what QBO last got
     (`customer_links.synced_hash`), send a sparse update, then record the new hash and
     SyncToken. A crash between the two re-sends the same update with the same requestid.
An unlinked customer is only stored: linking or creating it later uses the stored snapshot.
"""

from __future__ import annotations

from collections.abc import Callable

from consumers._validation import parse
from consumers.runtime.types import Done, Event, Failed, Outcome, Poison, Retry
from qbo.client import QboClient
from schemas.models import CustomerUpdated
from store import customers
from store.db import Database, StoreUnavailable
from sync import customer_sync
from sync.errors import ServiceError, Unavailable

# account id → a client bound to that account's realm (raises qbo.errors.NotConnected).
Clients = Callable[[str], QboClient]


class CustomerUpdatedHandler:
    event = "customer.updated"

    def __init__(self, db: Database, clients: Clients | None = None) -> None:
        self.db = db
        self.clients = clients  # None: store snapshots only (no QBO configured)

    def handle(self, event: Event) -> Outcome:
        parsed = parse(CustomerUpdated, event.value)
        if isinstance(parsed, Poison):
            return parsed
        try:
            changed = customers.save_snapshot(
                self.db,
                account_id=parsed.account_id,
                customer_id=parsed.customer.id,
                snapshot=parsed.customer.model_dump(mode="json"),
                event_id=parsed.event_id,
                occurred_at=parsed.occurred_at,
            )
            return self._push(parsed.account_id, parsed.customer.id, changed)
        except StoreUnavailable as exc:
            return Retry(f"database unavailable: {exc}", after=2.0)

    def _push(self, account_id: str, customer_id: str, changed: bool) -> Outcome:
        stored = "updated" if changed else "unchanged"
        if self.clients is None:
            return Done(stored)
        try:
            pushed = customer_sync.push_snapshot(self.db, self.clients, account_id, customer_id)
        except Unavailable as exc:
            return Retry(exc.message, after=exc.retry_after or 5.0)
        except ServiceError as exc:
            return Failed(exc.reason, exc.message)
        return Done(stored if pushed == "not_linked" else f"qbo_{pushed}")
