"""A connected account for end-to-end document tests: produce Sequence events with
confluent-kafka's own AvroSerializer, run the service's runtime, look at the emulator."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from qbo import customer as customer_builder
from schemas import loader, serde
from sequence_qbo import samples, wiring
from store import ledger
from store.db import Database
from tests.helpers import wait_until
from tests.integration.conftest import Connected, connect
from tests.integration.harness import produce

UK_CUSTOMER = samples.customer(
    "cus_uk", "Acme Widgets Ltd", "ap@acme.example", "1 Main St", "Leeds", "LS1 1AA", "GB", "TAXED"
)


def one_line_invoice(
    iid: str,
    customer: dict[str, Any] = UK_CUSTOMER,
    *,
    number: str,
    title: str = "Pro plan",
    product_id: str | None = None,
    tax_category_id: str | None = None,
) -> dict[str, Any]:
    """120.00 GBP: one line of 100.00 net + 20.00 VAT at 20%, in one group ("November", of
    `tax_category_id`)."""
    line = samples.line(
        "l1",
        title,
        "1",
        "100.00",
        "100.00",
        product_id=product_id,
        tax_rate="0.2",
        tax_amount="20.00",
    )
    return samples.invoice(
        iid,
        customer,
        [samples.group("g1", "November", [line], tax_category_id)],
        number=number,
        net="100.00",
        tax="20.00",
        gross="120.00",
    )


class World:
    """One connected account: produce Sequence events, run the service, look at QBO."""

    def __init__(self, c: Connected, db: Database, registry_url: str) -> None:
        self.c, self.db = c, db
        self.registry = SchemaRegistryClient.new_client({"url": registry_url})
        self.serde = serde.Serde(serde.RegistryResolver("unused", client=self.registry))
        self.app = wiring.Application(c.settings, db=db, serde_=self.serde)
        self.factory = self.app.clients
        self.client = self.factory.for_account(c.account_id)[1]

    def link(self, snapshot: dict[str, Any], currency: str | None = None) -> str:
        from schemas.models import Customer

        body = customer_builder.build_customer(Customer.model_validate(snapshot), currency=currency)
        created = self.client.create("Customer", body, request_id=f"cust-{uuid.uuid4().hex}")
        with self.db.transaction() as tx:
            tx.conn.execute(
                "insert into customer_links (account_id, customer_id, realm_id, qbo_customer_id,"
                " qbo_sync_token, currency, origin) values (%s, %s, %s, %s, %s, %s, 'link')",
                (
                    self.c.account_id,
                    snapshot["id"],
                    self.c.realm_id,
                    created["Id"],
                    created["SyncToken"],
                    currency,
                ),
            )
        return str(created["Id"])

    def settings(self, **values: Any) -> None:
        cols = ", ".join(values)
        marks = ", ".join(["%s"] * len(values))
        with self.db.transaction() as tx:
            tx.conn.execute(
                f"insert into account_settings (account_id, {cols}) values (%s, {marks})",
                (self.c.account_id, *values.values()),
            )

    def item_id(self, name: str = "Services") -> str:
        items = self.c.sandbox.objects(self.c.realm_id, "Item")["objects"]
        return next(str(i["Id"]) for i in items if i["Name"] == name)

    def produce(self, event: str, key: str, body: dict[str, Any]) -> None:
        topic = self.c.settings.topics.by_event()[event]
        ser = AvroSerializer(
            self.registry,
            loader.schema_text(event),
            conf={"subject.name.strategy": topic_subject_name_strategy},
        )
        value = {
            "event_id": str(uuid.uuid4()),
            "occurred_at": dt.datetime.now(dt.UTC),
            "account_id": self.c.account_id,
            **body,
        }
        produce(
            self.c.settings.kafka_bootstrap,
            topic,
            [(key, ser(value, SerializationContext(topic, MessageField.VALUE)))],
        )

    def runtime(self, group: str | None = None) -> Any:
        return self.app.runtime(self.app.handlers(), group=group)

    def row(self, doc_type: str, sequence_id: str) -> dict[str, Any] | None:
        with self.db.transaction() as tx:
            return ledger.get(
                tx, ledger.DocKey(self.c.account_id, ledger.DocumentType(doc_type), sequence_id)
            )

    def synced(self, doc_type: str, sequence_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Waits until the document's sync has an outcome; returns its ledger row."""
        return wait_until(
            lambda: (r := self.row(doc_type, sequence_id)) and r["status"] != "pending" and r,
            timeout=timeout,
            message=f"{doc_type} {sequence_id} to be synced or failed",
        )

    def settled(self, doc_type: str, sequence_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Waits until the document is synced, voided or failed (not pending, retrying or
        waiting); returns its ledger row."""
        return wait_until(
            lambda: (
                (r := self.row(doc_type, sequence_id))
                and r["status"] in ("synced", "voided", "failed")
                and r
            ),
            timeout=timeout,
            message=f"{doc_type} {sequence_id} to settle",
        )

    def qbo(self, entity: str) -> list[dict[str, Any]]:
        return self.c.sandbox.objects(self.c.realm_id, entity)["objects"]

    def sync_service(self) -> Any:
        return self.app.document_sync

    @staticmethod
    def doc_type(name: str) -> ledger.DocumentType:
        return ledger.DocumentType(name)

    def qbo_invoices(self) -> list[dict[str, Any]]:
        return self.c.sandbox.objects(self.c.realm_id, "Invoice")["objects"]

    def writes(self) -> int:
        return sum(
            1
            for r in self.c.requests()
            if r["method"] == "POST" and r["entity"].lower() not in ("query", "token")
        )


def make_world(
    db: Database,
    settings: Any,
    sandbox: Any,
    registry_url: str,
    profile: str = "UK",
    **realm_options: Any,
) -> World:
    return World(connect(db, settings, sandbox, profile, **realm_options), db, registry_url)
