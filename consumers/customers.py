"""`customer.updated`: keep the latest snapshot of every Sequence customer, and keep the QBO
customer of a linked one current.

Order of effects (a redelivery after a crash at any step converges):
  1. store the snapshot (unchanged or older ones write nothing);
  2. for a linked customer whose stored snapshot differs from what QBO last got
     (`customer_links.synced_hash`), send a sparse update, then record the new hash and
     SyncToken. A crash between the two re-sends the same update with the same requestid.
An unlinked customer is only stored: linking or creating it later uses the stored snapshot.

A failure is a state like a document's (docs/failures.md): the ledger row
(`document_type = 'customer'`) says failed / retrying with its reason, `qbo.sync_status`
announces it once, and `resync` (or the next `customer.updated` that goes through) clears it.

Replay summary labels: `unchanged` (nothing written anywhere), `updated` (the snapshot was
stored, QBO needed nothing), `qbo_updated` (QBO was written).
"""

from __future__ import annotations

from collections.abc import Callable

from consumers._sync_outcome import Announce, LedgerRecorder, outcome_of
from consumers._validation import parse
from consumers.runtime.types import Done, Event, Outcome, Poison
from qbo.client import ClientProvider
from schemas.models import CustomerUpdated
from store import customers, ledger
from store.db import Database
from store.ledger import DocKey, DocumentType
from sync import customer_sync


class CustomerUpdatedHandler:
    event = "customer.updated"

    def __init__(
        self,
        db: Database,
        clients: ClientProvider | None = None,
        *,
        announce: Announce | None = None,
    ) -> None:
        self.db = db
        self.clients = clients  # None: store snapshots only (no QBO configured)
        self.announce = announce  # SyncStatusPublisher.publish_state: states on qbo.sync_status

    def handle(self, event: Event) -> Outcome:
        parsed = parse(CustomerUpdated, event.value)
        if isinstance(parsed, Poison):
            return parsed
        account_id, customer_id = parsed.account_id, parsed.customer.id

        def store_and_push() -> str:
            changed = customers.save_snapshot(
                self.db,
                account_id=account_id,
                customer_id=customer_id,
                snapshot=parsed.customer.model_dump(mode="json"),
                event_id=parsed.event_id,
                occurred_at=parsed.occurred_at,
            )
            pushed = self._push(account_id, customer_id)
            return "qbo_updated" if pushed == "updated" else ("updated" if changed else "unchanged")

        return self._outcome(account_id, customer_id, store_and_push)

    def resync(self, account_id: str, customer_id: str) -> Outcome:
        """Pushes the stored snapshot again (`resync`, the internal re-sync topic)."""
        return self._outcome(
            account_id,
            customer_id,
            lambda: (
                "qbo_updated" if self._push(account_id, customer_id) == "updated" else "unchanged"
            ),
        )

    def _push(self, account_id: str, customer_id: str) -> customer_sync.Pushed:
        if self.clients is None:
            return "not_linked"
        return customer_sync.push_snapshot(self.db, self.clients, account_id, customer_id)

    def _outcome(self, account_id: str, customer_id: str, run: Callable[[], str]) -> Outcome:
        key = DocKey(account_id, DocumentType.CUSTOMER, customer_id)
        record = LedgerRecorder(self.db, self.announce, customer_id=customer_id)

        def run_and_clear() -> Done:
            label = run()
            self._cleared(key)
            return Done(label)

        outcome: Outcome = outcome_of(run_and_clear, key=key, record=record)
        return outcome

    def _cleared(self, key: DocKey) -> None:
        """A customer that failed or was retrying went through: its row says so (announced
        once: the announcement compares states, and nothing changes for a customer that never
        failed)."""
        with self.db.transaction() as tx:
            ledger.clear_state(tx, key)
        if self.announce is not None:
            self.announce(key)
