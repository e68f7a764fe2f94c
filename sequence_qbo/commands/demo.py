"""`sequence-qbo demo`: sample Sequence events through Kafka into the service and QBO, and back.

What it does, against the running infrastructure (`make demo` starts it):
  1. migrates the database, creates the topics;
  2. starts the QBO emulator in this process (unless SEQUENCE_QBO_QBO_BASE_URL points at one)
     and connects a demo account to a fresh UK company;
  3. produces customer.updated events; links three customers in QBO (one stays unlinked);
  4. maps a product and a tax category, sets a fallback item;
  5. produces invoices (one for the unlinked customer, one with a 22-character number), a
     credit note and a void, runs the consumers until every document has an outcome;
  6. prints what was synced and what failed, with reasons, next to what QBO now holds;
  7. pays an invoice in QBO in part, then the rest, then deletes the second Payment, and shows
     what comes back on Kafka (found by the CDC poller, reconciled, published through the
     outbox): `invoice.paid` once, and a version of `invoice.payment_status_changed` per change
     (PARTIALLY_PAID, PAID, PARTIALLY_PAID again).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table

from publishing import Record
from sequence_qbo import samples, wiring
from sequence_qbo.errors import CliError
from sequence_qbo.qbo_store import store_connection
from sequence_qbo.settings import Settings
from sequence_qbo.topics import ensure_topics
from store import connections, ledger
from store.migrate import migrate
from sync import customers as customer_service
from sync import products, tax
from sync import settings as settings_service

_PRO = "prod_pro"


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="sample events through the service into QBO and back")
    demo.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the events to be processed (default 120)",
    )
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    console = Console(width=max(Console().width, 150))
    if not args.verbose:  # the partition assignments of each run are noise here
        logging.getLogger("consumers").setLevel(logging.WARNING)
    migrate(settings.database_url.get_secret_value())
    ensure_topics(settings.kafka_bootstrap, settings.topics.all(), settings.topic_partitions)
    with _emulator(settings) as (base_url, sandbox):
        settings = _demo_settings(settings, base_url)
        account = f"acct_demo_{uuid.uuid4().hex[:6]}"
        with wiring.Application(settings) as app:
            db = app.db
            _retire_earlier_demos(db)
            realm = _connect(settings, db, sandbox, account)
            console.print(f"[bold]account[/] {account} → QBO company (realm) {realm} at {base_url}")
            _run(app, lambda: _customers(app, account), _customers_done(db, account), args.timeout)
            _set_up(app, account, console)
            _show_customers(console, db, account)
            docs = _documents(app, account)
            _run(app, lambda: None, _documents_done(db, account, docs), args.timeout)
            _report(console, db, account, app.clients, docs)
            try:
                _pay_and_watch(app, account, console, args.timeout)
            finally:
                # Its emulator ends with this process: nothing should poll it any more.
                connections.mark_disconnected(db, account, "demo finished")
    return 0


def _retire_earlier_demos(db: wiring.Database) -> None:
    """Demo accounts of runs that were cut short point at emulators that are gone."""
    for row in connections.list_all(db):
        if row["account_id"].startswith("acct_demo_") and row["status"] == "active":
            connections.mark_disconnected(db, row["account_id"], "demo finished")


@contextlib.contextmanager
def _emulator(settings: Settings) -> Iterator[tuple[str, Any]]:
    if settings.qbo_base_url:
        yield settings.qbo_base_url, None
        return
    from sandbox.testing import running_sandbox

    with running_sandbox() as sandbox:
        yield sandbox.base_url, sandbox


def _demo_settings(settings: Settings, base_url: str) -> Settings:
    key = settings.token_encryption_key or Fernet.generate_key().decode()
    return Settings(
        **{
            **settings.model_dump(),
            "qbo_environment": "emulator",
            "qbo_base_url": base_url,
            "token_encryption_key": key,
            # The CDC poller finds the demo's payment within a second, not a minute.
            "cdc_interval_seconds": 1.0,
        }
    )


def _connect(settings: Settings, db: wiring.Database, sandbox: Any, account: str) -> str:
    if sandbox is None:
        raise CliError(
            "with SEQUENCE_QBO_QBO_BASE_URL set, connect the account yourself "
            "(`sequence-qbo connect`); the demo drives only its own emulator"
        )
    realm = sandbox.create_realm("UK")
    tokens = sandbox.token(realm)
    assert settings.token_encryption_key is not None
    store_connection(
        db,
        settings.token_encryption_key,
        account,
        realm,
        tokens["access_token"],
        tokens["refresh_token"],
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return realm


def _produce(
    app: wiring.Application, event: str, records: list[tuple[str, dict[str, Any]]]
) -> None:
    topic = app.settings.topics.by_event()[event]
    encoded = [Record(topic, key, app.serde.encode(event, topic, body)) for key, body in records]
    app.publisher.publish(encoded, timeout=30)


def _customers(app: wiring.Application, account: str) -> None:
    _produce(app, "customer.updated", samples.customer_updated_events(account))


def _customers_done(db: wiring.Database, account: str) -> Any:
    from store import customers

    return lambda: len(customers.list_snapshots(db, account)) >= 4


def _set_up(app: wiring.Application, account: str, console: Console) -> None:
    """What a merchant does in Sequence's dashboard before invoices flow."""
    db, client = app.db, app.clients.for_account(account)[1]
    for customer_id in ("cus_001", "cus_002", "cus_003"):
        result = customer_service.create_customer(db, client, None, account, customer_id)
        console.print(f"created QBO customer {result.link.qbo_customer_id} for {customer_id}")
    income = products.income_accounts(client)[0]["id"]
    products.map_product(db, client, account, _PRO, "Pro plan", income)
    products.create_fallback_item(db, client, account, "Other Sequence charges", income)
    tax.map_tax_category(db, client, account, "vat_standard", "3")
    settings_service.update_settings(
        db,
        lambda: client,
        account,
        {
            "exempt_tax_code_id": "2",
            "reverse_charge_tax_code_id": "5",
            "merchant_email": "billing@merchant.example",
        },
    )


def _invoice(
    iid: str, customer: dict[str, Any], number: str, *, status: str = "FINAL"
) -> dict[str, Any]:
    lines = [
        samples.line("l1", "Pro plan", "1", "100.00", "100.00", product_id=_PRO),
        samples.line("l2", "API calls", "1234.5678", "0.0015", "1.85"),
    ]
    net = sum((Decimal(ln["amount"]) for ln in lines), Decimal(0))
    rate = Decimal("0.2") if customer["tax_status"] == "TAXED" else Decimal(0)
    vat = (net * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)
    group = samples.group("g1", "November", lines, "vat_standard")
    return samples.invoice(
        iid,
        customer,
        [group],
        number=number,
        status=status,
        net=str(net),
        tax=str(vat),
        gross=str(net + vat),
    )


def _documents(app: wiring.Application, account: str) -> list[tuple[str, str]]:
    """Produces the sample documents; returns (document type, id) of each."""
    by_id = {c[0]: samples.customer(*c) for c in samples._CUSTOMERS}
    invoices = [
        _invoice("inv_1001", by_id["cus_001"], "INV-1001"),
        _invoice("inv_1002", by_id["cus_002"], "INV-1002", status="SENT"),
        _invoice("inv_1003", by_id["cus_003"], "INV-1003"),
        _invoice("inv_1004", by_id["cus_004"], "INV-1004"),  # customer not linked
        _invoice("inv_1005", by_id["cus_001"], "INV-2026-11-LONG-NUMBER"),  # 23 characters
    ]
    note = {
        **_invoice("cn_2001", by_id["cus_001"], "CN-2001"),
        "invoice_id": "inv_1001",
        "invoice_number": "INV-1001",
        "issue_date": dt.date(2026, 11, 20),
    }
    del note["invoice_date"]
    envelope = samples.envelope
    _produce(
        app, "invoice.finalized", [(i["id"], {**envelope(account), "invoice": i}) for i in invoices]
    )
    _produce(app, "credit_note.sent", [(note["id"], {**envelope(account), "credit_note": note})])
    voided = {**invoices[2], "status": "VOIDED"}
    _produce(app, "invoice.voided", [(voided["id"], {**envelope(account), "invoice": voided})])
    return [("invoice", i["id"]) for i in invoices] + [("credit_note", note["id"])]


def _documents_done(db: wiring.Database, account: str, docs: list[tuple[str, str]]) -> Any:
    def done() -> bool:
        with db.transaction() as tx:
            rows = [
                ledger.get(tx, ledger.DocKey(account, ledger.DocumentType(t), i)) for t, i in docs
            ]
        voided = next((r for r in rows if r and r["sequence_id"] == "inv_1003"), None)
        return all(r and r["status"] != "pending" for r in rows) and bool(
            voided and voided["status"] == "voided"
        )

    return done


def _run(app: wiring.Application, produce: Any, done: Any, timeout: float) -> None:
    """Runs the consumers until `done()`, as `sequence-qbo run` would."""
    produce()
    stop = threading.Event()
    runtime = app.runtime(app.handlers())
    worker = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    worker.start()
    deadline = time.monotonic() + timeout
    try:
        while not done():
            if time.monotonic() > deadline:
                raise CliError(f"the consumers did not finish within {timeout:.0f}s")
            time.sleep(0.2)
    finally:
        stop.set()
        worker.join(60)


def _report(
    console: Console, db: wiring.Database, account: str, factory: Any, docs: list[tuple[str, str]]
) -> None:
    client = factory.for_account(account)[1]
    table = Table(
        "document",
        "id",
        "status",
        "reason",
        "QBO id",
        "QBO total",
        "message",
        title=f"what the service did for {account}",
    )
    for doc_type, sequence_id in docs:
        with db.transaction() as tx:
            row = ledger.get(tx, ledger.DocKey(account, ledger.DocumentType(doc_type), sequence_id))
        assert row is not None
        total = ""
        if row["qbo_id"]:
            entity = "Invoice" if doc_type == "invoice" else "CreditMemo"
            total = str(client.get(entity, row["qbo_id"])["TotalAmt"])
        table.add_row(
            doc_type,
            sequence_id,
            row["status"],
            row["reason_code"] or "",
            row["qbo_id"] or "",
            total,
            row["message"] or "",
        )
    console.print(table)


def _pay_and_watch(app: wiring.Application, account: str, console: Console, timeout: float) -> None:
    """INV-1001 is paid in QBO in part, then the rest; then the second Payment is deleted. The
    service notices each (CDC), publishes a version of `invoice.payment_status_changed` per
    change and `invoice.paid` once."""
    with app.db.transaction() as tx:
        row = ledger.get(tx, ledger.DocKey(account, ledger.DocumentType.INVOICE, "inv_1001"))
    assert row is not None and row["qbo_id"]
    qbo_id = row["qbo_id"]
    client = app.clients.for_account(account)[1]
    invoice = client.get("Invoice", qbo_id)
    balance = Decimal(str(invoice["Balance"]))
    part = (balance / 3).quantize(Decimal("0.01"), ROUND_HALF_UP)
    states, topics = [], app.settings.topics
    with _service_running(app), _EventReader(app, account) as reader:
        first = _pay(client, invoice, part, f"demo-pay-1-{account}")
        console.print(f"QBO invoice {qbo_id} (INV-1001): Payment {first} of {part} (part) …")
        states.append(reader.wait(_STATE, timeout))
        second = _pay(client, invoice, balance - part, f"demo-pay-2-{account}")
        console.print(f"Payment {second} of {balance - part} (the rest) …")
        paid = reader.wait("invoice.paid", timeout)
        states.append(reader.wait(_STATE, timeout))
        _delete_payment(client, second, f"demo-del-{account}")
        console.print(f"Payment {second} deleted in QBO …")
        states.append(reader.wait(_STATE, timeout))
    table = Table("field", "value", title=f"invoice.paid on {topics.invoice_paid}")
    for name, value in paid.items():
        table.add_row(name, str(value))
    console.print(table)
    _show_states(console, states, topics.invoice_payment_status_changed)


_STATE = "invoice.payment_status_changed"


def _pay(client: Any, invoice: dict[str, Any], amount: Decimal, request_id: str) -> str:
    """A customer's Payment of `amount` applied to the invoice; its QBO id."""
    link = {"TxnId": invoice["Id"], "TxnType": "Invoice"}
    body = {
        "CustomerRef": invoice["CustomerRef"],
        "TotalAmt": amount,
        "Line": [{"Amount": amount, "LinkedTxn": [link]}],
    }
    return str(client.create("Payment", body, request_id=request_id)["Id"])


def _delete_payment(client: Any, payment_id: str, request_id: str) -> None:
    token = client.get("Payment", payment_id)["SyncToken"]
    body = {"Id": payment_id, "SyncToken": token}
    client.call("POST", "payment", params={"operation": "delete"}, body=body, request_id=request_id)


def _show_states(console: Console, states: list[dict[str, Any]], topic: str) -> None:
    table = Table(
        "version", "status", "amount paid", "balance", "payments", title=f"{_STATE} on {topic}"
    )
    for e in states:
        payments = ", ".join(f"{p['qbo_payment_id']} ({p['amount']})" for p in e["payments"])
        table.add_row(str(e["version"]), e["status"], e["amount_paid"], e["balance"], payments)
    console.print(table)


@contextlib.contextmanager
def _service_running(app: wiring.Application) -> Iterator[None]:
    """The consumers and the reconciliation loops (relay, CDC poller) for the block."""
    stop = threading.Event()
    runtime = app.runtime(app.handlers())
    runs = [runtime.run, *(loop.run for loop in app.reconcile_loops())]
    threads = [threading.Thread(target=run, args=(stop,), daemon=True) for run in runs]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)


class _EventReader:
    """Reads the account's invoice.paid and invoice.payment_status_changed events, in order."""

    def __init__(self, app: wiring.Application, account: str) -> None:
        from confluent_kafka import Consumer

        self.serde, self.account = app.serde, account
        topics = app.settings.topics
        self.events = {
            topics.invoice_paid: "invoice.paid",
            topics.invoice_payment_status_changed: _STATE,
        }
        self.reader = Consumer(
            {
                "bootstrap.servers": app.settings.kafka_bootstrap,
                "group.id": f"demo-reader-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __enter__(self) -> _EventReader:
        self.reader.subscribe(list(self.events))
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.close()

    def wait(self, event: str, timeout: float) -> dict[str, Any]:
        """The next event of that kind for the account (CliError after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, (kind, value) in enumerate(self.seen):
                if kind == event:
                    del self.seen[i]
                    return value
            msg = self.reader.poll(0.5)
            if msg is None or msg.error():
                continue
            event_of = self.events.get(msg.topic() or "")
            if event_of is None:
                continue
            value = self.serde.decode(event_of, msg.value())
            if value["account_id"] == self.account:
                self.seen.append((event_of, value))
        raise CliError(f"no {event} for INV-1001 within {timeout:.0f}s")


def _show_customers(console: Console, db: wiring.Database, account: str) -> None:
    from store import customers

    table = Table(
        "customer",
        "legal name",
        "email",
        "country",
        "tax status",
        "QBO customer",
        title="customer snapshots stored from customer.updated",
    )
    for row in customers.list_snapshots(db, account):
        snap = row["snapshot"]
        table.add_row(
            row["customer_id"],
            snap["legal_name"],
            snap["email"],
            snap["address"]["country"],
            snap["tax_status"],
            row["qbo_customer_id"] or "not linked",
        )
    console.print(table)
