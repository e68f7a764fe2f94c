"""The composition root: builds the service's parts from settings. No logic of its own."""

from __future__ import annotations

from collections.abc import Mapping

from consumers.credit_notes import CreditNoteHandler
from consumers.customers import CustomerUpdatedHandler
from consumers.invoices import InvoiceHandler, InvoiceVoidedHandler
from consumers.resync import ResyncHandler
from consumers.status import SyncStatusPublisher
from consumers.runtime import kafka
from consumers.runtime.concurrent import ConcurrentRuntime
from consumers.runtime.metrics import RuntimeMetrics
from consumers.runtime.types import Handler
from qbo.connection import ClientFactory
from schemas.serde import Serde, make_serde
from sequence_qbo.services.documents import DocumentSync
from sequence_qbo.settings import Settings
from store.db import Database


def database(settings: Settings) -> Database:
    return Database(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )


def serde(settings: Settings) -> Serde:
    return make_serde(settings.schema_registry_url)


def qbo_clients(settings: Settings, db: Database) -> ClientFactory:
    """QBO clients per account (refuses to start without a token encryption key)."""
    return ClientFactory(settings, db)


def document_sync(settings: Settings, db: Database, clients: ClientFactory,
                  serde_: Serde | None = None) -> DocumentSync:
    status = SyncStatusPublisher(kafka.producer(settings.kafka_bootstrap),
                                 serde_ or serde(settings), settings.topics.sync_status)
    return DocumentSync(db, lambda account_id: clients.for_account(account_id)[1],
                        status=status)


def handlers(settings: Settings, db: Database,
             serde_: Serde | None = None) -> Mapping[str, Handler]:
    """Input topic → handler. `serde_` overrides the one the settings describe (tests)."""
    t = settings.topics
    sync = document_sync(settings, db, qbo_clients(settings, db), serde_)
    return {
        t.customer_updated: CustomerUpdatedHandler(db),
        t.invoice_finalized: InvoiceHandler(sync, "invoice.finalized"),
        t.invoice_sent: InvoiceHandler(sync, "invoice.sent"),
        t.invoice_voided: InvoiceVoidedHandler(sync),
        t.credit_note_sent: CreditNoteHandler(sync),
        t.resync: ResyncHandler(sync),
    }


def runtime(settings: Settings, handlers_: Mapping[str, Handler],
            metrics: RuntimeMetrics | None = None,
            serde_: Serde | None = None) -> ConcurrentRuntime:
    """The concurrent runtime (ordering per key); several processes may share the group."""
    return ConcurrentRuntime(
        consumer=kafka.consumer(settings.kafka_bootstrap, settings.consumer_group),
        producer=kafka.producer(settings.kafka_bootstrap),
        serde=serde_ or serde(settings),
        handlers=handlers_,
        dlq_topic=settings.topics.dlq,
        metrics=metrics,
    )
