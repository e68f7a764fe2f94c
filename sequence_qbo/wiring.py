"""The composition root: builds the service's parts from settings. No logic of its own.

`Application` owns what a process opens (database pools, the QBO client factory, the Kafka
publishers) and closes it all in `close()`; every command that runs the service builds one
and closes it on exit (`with Application(settings) as app:`). Parts are built on first use, so
a command that only reads the database needs neither a token key nor a broker.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from api.publisher import KafkaChangePublisher
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
from publishing import KafkaPublisher
from qbo.client import QboClient
from qbo.connection import ClientFactory
from qbo.quota import Limits
from schemas.serde import Serde, make_serde
from sequence_qbo import qbo_store
from sequence_qbo.settings import Settings
from store.db import Database
from sync import customer_sync
from sync import deps as services_deps
from sync.batching import CreateBatcher
from sync.documents import DocumentSync
from sync.publish import Publishing

__all__ = ["Application", "Database", "DocumentSync", "Loop", "database", "serde"]


def database(settings: Settings) -> Database:
    """The main pool, not opened (`with wiring.database(settings) as db:`)."""
    return Database(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )


def serde(settings: Settings) -> Serde:
    return make_serde(settings.schema_registry_url)


class Loop(Protocol):
    """A background loop of `sequence-qbo run`; `run` returns soon after `stop` is set."""

    name: str

    def run(self, stop: threading.Event) -> None: ...


class Application:
    """The parts of one process, built on first use and closed together. Construction does
    no I/O. `db` and `serde` may be given (tests); a given database stays its owner's."""

    def __init__(
        self, settings: Settings, *, db: Database | None = None, serde_: Serde | None = None
    ) -> None:
        self.settings = settings
        self._given_db, self._given_serde = db, serde_
        self._closers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Application:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes what was opened, newest first (publishers flush before the pools go)."""
        with self._lock:
            closers, self._closers = self._closers[::-1], []
        for close in closers:
            close()

    def _owned(self, close: Callable[[], None]) -> None:
        with self._lock:
            self._closers.append(close)

    # -- resources -------------------------------------------------------------------------

    @functools.cached_property
    def db(self) -> Database:
        if self._given_db is not None:
            return self._given_db
        db = database(self.settings).open()
        self._owned(db.close)
        return db

    @functools.cached_property
    def serde(self) -> Serde:
        return self._given_serde or serde(self.settings)

    @functools.cached_property
    def clients(self) -> ClientFactory:
        """QBO clients per account (refuses to start without a token encryption key).

        Their tokens and quota live on a connection pool of their own: a document sync holds
        a connection of the main pool while it calls QBO, and every QBO call needs one for the
        quota, so one shared pool can deadlock once every connection is held by a waiting
        sync."""
        s = self.settings
        limits = Limits(
            per_second=s.qbo_requests_per_second,
            per_minute=s.qbo_requests_per_minute,
            concurrent=s.qbo_concurrent_requests,
            batch_per_minute=s.qbo_batch_per_minute,
        )
        pool = Database(s.database_url.get_secret_value(), min_size=1, max_size=s.qbo_db_pool_max)
        self._owned(pool.open().close)
        factory = qbo_store.client_factory(s, pool, limits=limits)
        self._owned(factory.close)
        return factory

    @functools.cached_property
    def publisher(self) -> KafkaPublisher:
        """The process's one Kafka publisher (statuses, invoice.paid, CDC notices, services)."""
        publisher = KafkaPublisher(self.settings.kafka_bootstrap)
        self._owned(publisher.close)
        return publisher

    def change_publisher(self) -> KafkaChangePublisher:
        """`qbo.changes` for the webhook receiver: its own producer, timed to Intuit's 3 s."""
        publisher = KafkaChangePublisher(
            self.settings.kafka_bootstrap, self.serde, self.settings.topics.qbo_changes
        ).open()
        self._owned(publisher.close)
        return publisher

    # -- services --------------------------------------------------------------------------

    @functools.cached_property
    def publishing(self) -> Publishing:
        return Publishing.over(self.publisher, self.settings.topics, self.serde)

    @functools.cached_property
    def services(self) -> services_deps.Deps:
        """What the CLI and the admin API hand the services. QBO clients are built on the
        first call that needs one."""
        return services_deps.Deps(self.db, self._client, self.publishing)

    def _client(self, account_id: str) -> QboClient:
        return self.clients(account_id)  # the factory is built on the first call

    @functools.cached_property
    def document_sync(self) -> DocumentSync:
        status = SyncStatusPublisher(
            self.publisher, self.serde, self.settings.topics.sync_status, db=self.db
        )
        # auto_create_customers: the hook creates and links the QBO customer when the
        # account's setting allows it, and raises CustomerNotLinked otherwise.
        hook = customer_sync.document_hook(self.publishing)
        # `pub`: an invoice that syncs asks for the re-sync of the documents waiting for it.
        return DocumentSync(
            self.db,
            self.clients,
            status=status,
            ensure_customer=hook,
            pub=self.publishing,
            # A realm's backlog of creates goes out in /batch requests.
            batcher=CreateBatcher() if self.settings.qbo_batch_creates else None,
        )

    # -- consumers -------------------------------------------------------------------------

    def handlers(self) -> Mapping[str, Handler]:
        """Input topic → handler."""
        t, sync = self.settings.topics, self.document_sync
        # Customer failures are states like documents' (announced by the same publisher).
        announce = getattr(sync.status, "publish_state", None)
        customers = CustomerUpdatedHandler(self.db, self.clients, announce=announce)
        return {
            t.customer_updated: customers,
            t.invoice_finalized: InvoiceHandler(sync, "invoice.finalized"),
            t.invoice_sent: InvoiceHandler(sync, "invoice.sent"),
            t.invoice_voided: InvoiceVoidedHandler(sync),
            t.credit_note_sent: CreditNoteHandler(sync),
            t.resync: ResyncHandler(sync, customers),
            t.qbo_changes: Reconciler(self.db, self.clients),
        }

    def runtime(
        self,
        handlers: Mapping[str, Handler],
        metrics: RuntimeMetrics | None = None,
        options: RuntimeOptions | None = None,
        *,
        group: str | None = None,
    ) -> ConcurrentRuntime:
        """The concurrent runtime (ordering per key); several processes may share the group."""
        s = self.settings
        return ConcurrentRuntime(
            consumer=kafka.consumer(
                s.kafka_bootstrap, group or s.consumer_group, instance_id=s.instance_id
            ),
            dead_letters=self.publisher,  # the dead-letter copies
            serde=self.serde,
            handlers=handlers,
            dlq_topic=s.topics.dlq,
            options=options,
            metrics=metrics,
        )

    def reconcile_loops(self) -> Sequence[Loop]:
        """The invoice.paid outbox relay and the CDC poller (docs/architecture.md)."""
        t = self.settings.topics
        relay = OutboxRelay(
            self.db,
            self.publisher,
            self.serde,
            t.invoice_paid,
            payment_state_topic=t.invoice_payment_status_changed,
            status_topic=t.sync_status,
        )
        poller = CdcPoller(
            self.db,
            self.clients,
            self.publisher,
            self.serde,
            t.qbo_changes,
            interval=self.settings.cdc_interval_seconds,
        )
        return (relay, poller)
