"""`customer.updated`: keep the latest snapshot of every Sequence customer."""

from __future__ import annotations

from consumers._validation import parse
from consumers.runtime.types import Done, Event, Outcome, Poison, Retry
from schemas.models import CustomerUpdated
from store import customers
from store.db import Database, StoreUnavailable


class CustomerUpdatedHandler:
    event = "customer.updated"

    def __init__(self, db: Database) -> None:
        self.db = db

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
        except StoreUnavailable as exc:
            return Retry(f"database unavailable: {exc}", after=2.0)
        return Done("updated" if changed else "unchanged")
