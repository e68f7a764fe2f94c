"""A connected account whose invoices are in QBO, for reconciliation tests: pay them in the
emulator, send change notices, run the reconciler, relay and poller, read `invoice.paid`."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from consumers.cdc import CdcPoller
from consumers.outbox import OutboxRelay
from publishing import KafkaPublisher
from schemas.models import Invoice
from sequence_qbo import samples
from tests.helpers import wait_until
from tests.integration.harness import read_all
from tests.integration.invoices.world import UK_CUSTOMER, World


def uk_invoice(iid: str, *, number: str | None = None, stripe: bool = False) -> dict[str, Any]:
    """122.22 GBP: 101.85 net + 20.37 VAT."""
    lines = [
        samples.line("l1", "Pro plan", "1", "100.00", "100.00", tax_rate="0.2", tax_amount="20.00"),
        samples.line(
            "l2", "API calls", "1234.5678", "0.0015", "1.85", tax_rate="0.2", tax_amount="0.37"
        ),
    ]
    return samples.invoice(
        iid,
        UK_CUSTOMER,
        [samples.group("g1", "November", lines)],
        number=number or f"N-{iid}",
        net="101.85",
        tax="20.37",
        gross="122.22",
        stripe_payment_link=stripe,
    )


@contextmanager
def looping(*loops: Any) -> Iterator[None]:
    """Runs each loop (`run(stop)`) in a thread for the block; fails if one does not stop."""
    stop = threading.Event()
    threads = [threading.Thread(target=loop.run, args=(stop,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
            assert not thread.is_alive(), "a loop did not stop within 30s"


class Reconciling(World):
    """World plus payments, notices and the reconciliation parts."""

    customer_id: str | None = None

    def invoice(self, iid: str, body: dict[str, Any] | None = None, **options: Any) -> str:
        """Syncs a Sequence invoice (`body`, else `uk_invoice`) to QBO (directly, not through
        Kafka); its QBO id."""
        if self.customer_id is None:
            self.customer_id = self.link(UK_CUSTOMER)
            self.settings(fallback_item_id=self.item_id(), fallback_tax_code_id="3")
        doc = Invoice.model_validate(body or uk_invoice(iid, **options))
        result = self.sync_service().sync(self.c.account_id, doc, dt.datetime.now(dt.UTC))
        assert result.qbo_id is not None, result
        return result.qbo_id

    def pay(self, qbo_invoice_id: str, amount: str, on: str = "2026-11-18") -> str:
        body = {
            "CustomerRef": {"value": self.customer_id},
            "TotalAmt": Decimal(amount),
            "TxnDate": on,
            "Line": [
                {
                    "Amount": Decimal(amount),
                    "LinkedTxn": [{"TxnId": qbo_invoice_id, "TxnType": "Invoice"}],
                }
            ],
        }
        created = self.client.create("Payment", body, request_id=f"pay-{uuid.uuid4().hex}")
        return str(created["Id"])

    def delete_payment(self, payment_id: str) -> None:
        """Deletes the Payment in QBO (`operation=delete`), as a bookkeeper would."""
        current = self.client.get("Payment", payment_id)
        self.client.call(
            "POST",
            "payment",
            params={"operation": "delete"},
            body={"Id": payment_id, "SyncToken": current["SyncToken"]},
            request_id=f"del-{uuid.uuid4().hex}",
        )

    def void_payment(self, payment_id: str) -> None:
        current = self.client.get("Payment", payment_id)
        self.client.void(
            "Payment", payment_id, current["SyncToken"], request_id=f"void-{uuid.uuid4().hex}"
        )

    def notify(
        self,
        entity: str,
        entity_id: str,
        operation: str = "Update",
        times: int = 1,
        last_updated: dt.datetime | None = None,
    ) -> None:
        """A webhook-like `qbo.changes` notice, `times` times (Intuit's retries), stamped now
        unless `last_updated` (an Intuit webhook carries the entity's LastUpdatedTime)."""
        now = last_updated or dt.datetime.now(dt.UTC)
        body = {
            "realm_id": self.c.realm_id,
            "entity": entity,
            "entity_id": entity_id,
            "operation": operation,
            "last_updated": now,
            "source": "WEBHOOK",
            "dedupe_key": f"{self.c.realm_id}/{entity}/{entity_id}/{now.timestamp()}",
        }
        for _ in range(times):
            self.produce("qbo.changes", self.c.realm_id, body)

    def stamp(self, entity: str, entity_id: str) -> dt.datetime:
        """The entity's LastUpdatedTime in the emulator, read through its admin API (not a QBO
        request: the request log does not count it)."""
        objects = self.c.sandbox.objects(self.c.realm_id, entity)["objects"]
        [obj] = [o for o in objects if str(o["Id"]) == entity_id]
        return dt.datetime.fromisoformat(obj["MetaData"]["LastUpdatedTime"])

    def last_request(self) -> int:
        """The emulator's request log position, to count the requests made after it."""
        return int(self.c.sandbox.admin("GET", "/requests?entity=none")["last_seq"])

    def requests_since(self, seq: int, realm: str | None = None) -> list[dict[str, Any]]:
        """QBO requests of the realm (default: the world's) logged after `seq`."""
        return self.c.sandbox.requests(realm=realm or self.c.realm_id, since=seq)

    def relay(self, cls: type[OutboxRelay] = OutboxRelay) -> OutboxRelay:
        return cls(
            self.db,
            KafkaPublisher(self.c.settings.kafka_bootstrap),
            self.serde,
            self.c.settings.topics.invoice_paid,
            payment_state_topic=self.c.settings.topics.invoice_payment_status_changed,
            status_topic=self.c.settings.topics.sync_status,
            interval=0.1,
        )

    def poller(self, **options: Any) -> CdcPoller:
        return CdcPoller(
            self.db,
            self.factory,
            KafkaPublisher(self.c.settings.kafka_bootstrap),
            self.serde,
            self.c.settings.topics.qbo_changes,
            **{"interval": 0.2, **options},
        )

    def _rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with self.db.transaction() as tx:
            return list(tx.conn.execute(sql.encode(), params).fetchall())

    def facts(self, qbo_invoice_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "select * from invoice_payments where realm_id = %s and qbo_invoice_id = %s",
            self.c.realm_id,
            qbo_invoice_id,
        )
        return rows[0] if rows else None

    def facts_when(self, qbo_invoice_id: str, status: str, **expected: Any) -> dict[str, Any]:
        def match() -> dict[str, Any] | None:
            row = self.facts(qbo_invoice_id)
            ok = row and row["status"] == status and all(row[k] == v for k, v in expected.items())
            return row if ok else None

        return wait_until(match, message=f"invoice {qbo_invoice_id} recorded {status}")

    def outbox(self) -> list[dict[str, Any]]:
        return self._rows("select * from invoice_paid_outbox order by id")

    def watermark(self) -> dict[str, Any] | None:
        rows = self._rows("select * from cdc_watermarks where realm_id = %s", self.c.realm_id)
        return rows[0] if rows else None

    def paid_events(self, expected: int) -> list[tuple[str, dict[str, Any]]]:
        """(key, value) of the first `expected` invoice.paid records."""
        topic = self.c.settings.topics.invoice_paid
        got = read_all(self.c.settings.kafka_bootstrap, topic, expected)
        return [(m.key().decode(), self.serde.decode("invoice.paid", m.value())) for m in got]

    def states(self, expected: int) -> list[tuple[str, dict[str, Any]]]:
        """(key, value) of the first `expected` invoice.payment_status_changed records."""
        topic = self.c.settings.topics.invoice_payment_status_changed
        got = read_all(self.c.settings.kafka_bootstrap, topic, expected)
        event = "invoice.payment_status_changed"
        return [(m.key().decode(), self.serde.decode(event, m.value())) for m in got]

    def notices(self, reason: str) -> list[dict[str, Any]]:
        """The qbo.sync_status records with this reason code (documents' states left out)."""
        topic = self.c.settings.topics.sync_status
        got = read_all(self.c.settings.kafka_bootstrap, topic, self.count(topic))
        decoded = [self.serde.decode("qbo.sync_status", m.value()) for m in got]
        return [d for d in decoded if d["reason_code"] == reason]

    def payment_states(self, qbo_invoice_id: str) -> list[dict[str, Any]]:
        """The invoice's recorded payment states, by version."""
        return self._rows(
            "select * from invoice_payment_events where realm_id = %s and qbo_invoice_id = %s"
            " order by version",
            self.c.realm_id,
            qbo_invoice_id,
        )

    def all_sent(self) -> bool:
        """Whether the relay has published every row of both outboxes."""
        unsent = self._rows(
            "select 1 from invoice_paid_outbox where sent_at is null union all "
            "select 1 from invoice_payment_events where sent_at is null and announce is not null"
        )
        return not unsent

    def count(self, topic: str) -> int:
        """Records in `topic` (sum of its partitions' high watermarks)."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.c.settings.kafka_bootstrap,
                "group.id": f"count-{uuid.uuid4().hex}",
            }
        )

        def highs() -> list[int] | None:
            try:
                meta = consumer.list_topics(topic, timeout=10).topics[topic]
                return [
                    consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1]
                    for p in meta.partitions
                ]
            except KafkaException:  # a fresh topic's leader may not be elected yet
                return None

        try:
            return sum(wait_until(highs, message=f"watermarks of {topic}"))
        finally:
            consumer.close()

    def changes(self, expected: int) -> list[dict[str, Any]]:
        topic = self.c.settings.topics.qbo_changes
        got = read_all(self.c.settings.kafka_bootstrap, topic, expected)
        return [self.serde.decode("qbo.changes", m.value()) for m in got]
