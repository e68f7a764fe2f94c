"""Keeping linked QBO customers current (`customer.updated`) and creating them on demand
(`auto_create_customers`) for the invoice sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from qbo import customer as builder
from qbo import requestids
from qbo.client import ClientProvider, QboClient
from schemas.models import Customer
from store import account_settings, connections, ledger, links
from store.customers import snapshot_hash
from store.db import Database
from store.ledger import DocKey, DocumentType
from store.links import Link, Queries
from sync import _qbo
from sync.customers import create_from_snapshot, stored_customer
from sync.errors import Conflict, CustomerNotLinked, NotConnected, ServiceError, Unavailable
from sync.publish import Publishing

__all__ = ["ensure_customer", "push_snapshot"]

Pushed = Literal["not_linked", "unchanged", "updated"]
# Fields QBO gets from us on every update; the rest (Id, SyncToken, sparse) the client adds.
_ENVELOPE = frozenset({"Id", "SyncToken", "sparse"})


def push_snapshot(
    db: Database, clients: ClientProvider, account_id: str, customer_id: str
) -> Pushed:
    """Sends the stored snapshot of a linked customer to QBO as a sparse update, unless QBO
    already has it (`customer_links.synced_hash`): an unchanged snapshot costs no QBO call.
    A stale SyncToken (5010) is re-read and the update re-applied (`reapply_on_conflict`)."""
    # The link in the company the account is connected to (not one it left).
    realm_id = connections.realm_of(db, account_id)
    link = None if realm_id is None else links.get(db, account_id, customer_id, realm_id=realm_id)
    if link is None:
        return "not_linked"
    customer, digest = stored_customer(db, account_id, customer_id)
    if link.synced_hash == digest:
        return "unchanged"
    retry = _failed_attempts(db, account_id, customer_id)
    updated = _update(_qbo.client_for(clients, account_id), link, customer, digest, retry)
    links.mark_synced(
        db,
        account_id,
        customer_id,
        realm_id=link.realm_id,
        sync_token=updated["SyncToken"],
        synced_hash=digest,
    )
    return "updated"


def _failed_attempts(db: Database, account_id: str, customer_id: str) -> int:
    """How often the customer's update failed for good (its ledger row, docs/failures.md): a
    re-sync once the cause is fixed must not reuse the failed request's requestid, whose
    answer (the fault) QBO would replay. 0 otherwise: a retry after a timeout keeps the id."""
    with db.transaction() as tx:
        row = ledger.get(tx, DocKey(account_id, DocumentType.CUSTOMER, customer_id))
    return int(row["attempts"]) if row is not None and row["status"] == "failed" else 0


def _update(
    client: QboClient, link: Link, customer: Customer, digest: str, retry: int = 0
) -> dict[str, Any]:
    if link.realm_id != client.realm_id:
        # The account was reconnected to another QBO company: that id means nothing there.
        raise Conflict(
            "realm_changed",
            f"Sequence customer {link.customer_id} is linked in QBO company {link.realm_id}, "
            f"but the account is now connected to {client.realm_id}; link it again",
            link=link.as_dict(),
        )
    payload = _qbo.build(
        lambda: builder.sparse_customer_update(
            customer, link.qbo_customer_id, link.qbo_sync_token or "0"
        )
    )
    changes = {key: value for key, value in payload.items() if key not in _ENVELOPE}
    request_id = requestids.make("customer-update", link.account_id, link.customer_id, digest)
    if retry:
        request_id = requestids.derive(request_id, f"after-failure-{retry}")
    with _qbo.translated(f"update customer {link.qbo_customer_id}"):
        return client.update(
            "Customer",
            link.qbo_customer_id,
            link.qbo_sync_token or "0",
            changes,
            request_id=request_id,
            reapply_on_conflict=True,
        )


def ensure_customer(
    db: Queries,
    client: QboClient,
    account_id: str,
    customer: Customer | dict[str, Any],
    currency: str | None,
    *,
    pub: Publishing | None = None,
    attempt: str = "",
) -> Link:
    """The customer's link; without one, creates the QBO customer when the account's
    `auto_create_customers` is on (in `currency` when the realm is multi-currency). Raises
    `CustomerNotLinked` (the document fails with `customer_not_linked`), or `Unavailable`
    when QBO cannot answer now (retry)."""
    snapshot = Customer.model_validate(customer)
    link = links.get(db, account_id, snapshot.id, realm_id=client.realm_id)
    if link is not None:
        return link
    if not account_settings.get(db, account_id).auto_create_customers:
        raise CustomerNotLinked(
            f"Sequence customer {snapshot.id} ({snapshot.legal_name}) is "
            "not linked to a QBO customer; link or create it",
            customer_id=snapshot.id,
        )
    return _auto_create(db, client, pub, account_id, snapshot, currency, attempt)


def _auto_create(
    db: Queries,
    client: QboClient,
    pub: Publishing | None,
    account_id: str,
    customer: Customer,
    currency: str | None,
    attempt: str,
) -> Link:
    digest = snapshot_hash(customer.model_dump(mode="json"))
    try:
        return create_from_snapshot(
            db,
            client,
            pub,
            account_id,
            customer,
            digest,
            currency=currency,
            origin="auto",
            attempt=attempt,
        ).link
    except (Unavailable, NotConnected):
        raise  # QBO cannot answer now, or no usable connection: not about the customer
    except ServiceError as exc:
        # Two syncs for one new customer: the other one linked it first (`already_linked`,
        # or its create took the name). Its link is the customer's link: success.
        concurrent = links.get(db, account_id, customer.id, realm_id=client.realm_id)
        if concurrent is not None:
            return concurrent
        raise CustomerNotLinked(
            f"Sequence customer {customer.id} is not linked and could not "
            f"be created in QBO: {exc.message}",
            customer_id=customer.id,
            cause=exc.as_dict(),
        ) from exc


def document_hook(pub: Publishing | None = None) -> Callable[..., tuple[str, str | None]]:
    """`ensure_customer` shaped as `sync.documents.EnsureCustomer`:
    (db, client, account_id, document) → (qbo_customer_id, currency); the client is the
    sync's own, so the customer's QBO calls count towards the document's."""
    from sync import documents  # the invoice sync imports us, not the reverse

    def hook(
        db: Database, client: QboClient, account_id: str, doc: Any, *, attempt: str = ""
    ) -> tuple[str, str | None]:
        try:
            # Called with no transaction open: every read and the link's insert take one pool
            # connection at a time, for one short statement, and none is held while QBO answers.
            link = ensure_customer(
                db, client, account_id, doc.customer, doc.currency, pub=pub, attempt=attempt
            )
        except CustomerNotLinked as exc:
            raise documents.CustomerNotLinked(exc.message) from exc
        return link.qbo_customer_id, link.currency

    return hook
