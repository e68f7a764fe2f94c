"""The composition root: builds the service's parts from settings. No logic of its own."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Protocol

from consumers.cdc import CdcPoller
from consumers.credit_notes import CreditNoteHandler
from consumers.customers import CustomerUpdatedHandler
from consumers.invoices import InvoiceHandler, InvoiceVoidedHandler
from consumers.outbox import OutboxRelay
from consumers.reconcile import Reconciler
from consumers.resync import ResyncHandler
from consumers.runtime import kafka
from consumers.runtime.concurrent import ConcurrentRuntime, RuntimeOptions
from consumers.runtime.metrics import RuntimeMetrics
from consumers.runtime.types import Handler
from consumers.status import SyncStatusPublisher
from qbo.connection import ClientFactory
from qbo.quota import Limits
from schemas.serde import Serde, make_serde
from sequence_qbo.settings import Settings
from store.db import Database
from sync import customer_sync
from sync.deps import from_factory
from sync.documents import DocumentSync
from sync.outbox import kafka_publishing


def database(settings: Settings) -> Database:
    return Database(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )


def serde(settings: Settings) -> Serde:
    return make_serde(settings.schema_registry_url)


def qbo_clients(settings: Settings) -> ClientFactory:
    """QBO clients per account (refuses to start without a token encryption key).

    Their tokens and quota live on a connection pool of their own: a document sync holds a
    connection of the main pool while it calls QBO, and every QBO call needs one for the quota,
    so one shared pool can deadlock once every connection is held by a waiting sync."""
    limits = Limits(
        per_second=settings.qbo_requests_per_second,
        per_minute=settings.qbo_requests_per_minute,
        concurrent=settings.qbo_concurrent_requests,
    )
    pool = Database(
        settings.database_url.get_secret_value(), min_size=1, max_size=settings.qbo_db_pool_max
    ).open()
    return ClientFactory(settings, pool, limits=limits, owns_db=True)


def document_sync(
    settings: Settings, db: Database, clients: ClientFactory, serde_: Serde | None = None
) -> DocumentSync:
    serde_ = serde_ or serde(settings)
    status = SyncStatusPublisher(
        kafka.producer(settings.kafka_bootstrap), serde_, settings.topics.sync_status
    )
    # auto_create_customers: the hook creates and links the QBO customer when the account's
    # setting allows it, and raises CustomerNotLinked otherwise.
    hook = customer_sync.document_hook(kafka_publishing(settings, serde_))
    return DocumentSync(db, from_factory(clients), status=status, ensure_customer=hook)


def handlers(
    settings: Settings, db: Database, serde_: Serde | None = None
) -> Mapping[str, Handler]:
    """Input topic → handler. `serde_` overrides the one the settings describe (tests)."""
    t = settings.topics
    clients = qbo_clients(settings)
    sync = document_sync(settings, db, clients, serde_)
    return {
        t.customer_updated: CustomerUpdatedHandler(db, from_factory(clients)),
        t.invoice_finalized: InvoiceHandler(sync, "invoice.finalized"),
        t.invoice_sent: InvoiceHandler(sync, "invoice.sent"),
        t.invoice_voided: InvoiceVoidedHandler(sync),
        t.credit_note_sent: CreditNoteHandler(sync),
        t.resync: ResyncHandler(sync),
        t.qbo_changes: Reconciler(db, clients.for_account),
    }


def runtime(
    settings: Settings,
    handlers_: Mapping[str, Handler],
    metrics: RuntimeMetrics | None = None,
    serde_: Serde | None = None,
    options: RuntimeOptions | None = None,
) -> ConcurrentRuntime:
    """The concurrent runtime (ordering per key); several processes may share the group."""
    return ConcurrentRuntime(
        consumer=kafka.consumer(settings.kafka_bootstrap, settings.consumer_group),
        producer=kafka.producer(settings.kafka_bootstrap),
        serde=serde_ or serde(settings),
        handlers=handlers_,
        dlq_topic=settings.topics.dlq,
        options=options,
        metrics=metrics,
    )


class Loop(Protocol):
    """A background loop of `sequence-qbo run`; `run` returns soon after `stop` is set."""

    name: str

    def run(self, stop: threading.Event) -> None: ...


def reconcile_loops(
    settings: Settings, db: Database, serde_: Serde | None = None
) -> Sequence[Loop]:
    """The invoice.paid outbox relay and the CDC poller (PRODUCT.md §9)."""
    codec = serde_ or serde(settings)
    t = settings.topics
    relay = OutboxRelay(db, kafka.producer(settings.kafka_bootstrap), codec, t.invoice_paid)
    poller = CdcPoller(
        db,
        qbo_clients(settings).for_account,
        kafka.producer(settings.kafka_bootstrap),
        codec,
        t.qbo_changes,
        interval=settings.cdc_interval_seconds,
    )
    return (relay, poller)
