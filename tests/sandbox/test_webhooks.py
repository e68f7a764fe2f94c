"""Webhooks: both formats, Intuit's signature, batching, retries and redelivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox.config import SandboxConfig, WebhookConfig
from sandbox.testing import running_sandbox
from tests.sandbox.support import ROOMY, Qbo, wait_for

VERIFIER = "verifier-123"


class Receiver:
    """A local HTTP endpoint that records deliveries and fails the first `fail` of them."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if receiver.fail > 0 else 200
                receiver.fail -= 1
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[object]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def hooked() -> Iterator[tuple[Qbo, Receiver]]:
    receiver = Receiver()
    config = SandboxConfig(
        quotas=ROOMY,
        webhook=WebhookConfig(
            url=receiver.url,
            verifier_token=VERIFIER,
            batch_window_seconds=0.2,
            retry_delays=(0.05, 0.05, 0.05),
        ),
    )
    with running_sandbox(config) as sb:
        yield Qbo(sb, sb.create_realm("US")), receiver
    receiver.server.shutdown()


def signature_ok(headers: dict[str, str], body: bytes) -> bool:
    expected = base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected.decode(), headers["intuit-signature"])


def test_legacy_format_signed_and_batched(hooked):
    qbo, receiver = hooked
    c = qbo.customer()
    qbo.invoice(c["Id"], 10, "NON")
    wait_for(lambda: receiver.received)
    headers, body = receiver.received[0]
    assert signature_ok(headers, body)
    assert headers["content-type"] == "application/json"
    note = json.loads(body)["eventNotifications"][0]
    assert note["realmId"] == qbo.realm_id
    ents = note["dataChangeEvent"]["entities"]
    assert [(e["name"], e["id"], e["operation"]) for e in ents] == [
        ("Customer", c["Id"], "Create"),
        ("Invoice", "1", "Create"),
    ]  # one batch, two changes
    assert ents[0]["lastUpdated"][-5] in "+-" and ":" not in ents[0]["lastUpdated"][-5:]


def test_cloudevents_format(hooked):
    qbo, receiver = hooked
    qbo.sb.set_webhooks(format="cloudevents")
    c = qbo.customer()
    qbo.create("Customer", {"Id": c["Id"], "SyncToken": "0", "sparse": True, "Notes": "n"})
    qbo.sb.admin("POST", "/webhooks/flush")
    wait_for(lambda: receiver.received)
    headers, body = receiver.received[0]
    assert signature_ok(headers, body)
    assert headers["content-type"] == "application/cloudevents+json"
    events = json.loads(body)
    assert [e["type"] for e in events] == ["qbo.customer.created.v1", "qbo.customer.updated.v1"]
    assert {e["intuitaccountid"] for e in events} == {qbo.realm_id}
    assert all(e["specversion"] == "1.0" and e["intuitentityid"] == c["Id"] for e in events)


def test_retried_until_200_with_same_body(hooked):
    qbo, receiver = hooked
    receiver.fail = 2
    qbo.customer()
    wait_for(lambda: len(receiver.received) == 3)
    assert len({body for _, body in receiver.received}) == 1
    statuses = [d["status"] for d in qbo.sb.admin("GET", "/webhooks/deliveries")]
    assert statuses == [500, 500, 200]


def test_redeliver_last_batch(hooked):
    qbo, receiver = hooked
    qbo.customer()
    wait_for(lambda: receiver.received)
    qbo.sb.admin("POST", "/webhooks/redeliver", {"times": 3})
    wait_for(lambda: len(receiver.received) == 4)
    assert len({body for _, body in receiver.received}) == 1


def test_disabled_sends_nothing_but_records_events(hooked):
    qbo, receiver = hooked
    qbo.sb.set_webhooks(enabled=False)
    qbo.customer()
    assert qbo.sb.admin("POST", "/webhooks/flush") == {"events": 0}
    assert [e["operation"] for e in qbo.sb.admin("GET", "/webhooks/events")] == ["Create"]
    assert receiver.received == []


def test_payment_notifies_invoice_update(hooked):
    qbo, _receiver = hooked
    c = qbo.customer()
    inv = qbo.invoice(c["Id"], 10, "NON")
    qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": c["Id"]},
            "TotalAmt": 10,
            "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
        },
    )
    events = [(e["name"], e["operation"]) for e in qbo.sb.admin("GET", "/webhooks/events")]
    assert events[-2:] == [("Payment", "Create"), ("Invoice", "Update")]


def _paid_then_deleted(qbo: Qbo, name: str) -> tuple[str, str]:
    """An invoice, a payment of it, then the payment deleted: (invoice Id, payment Id)."""
    c = qbo.customer(name)
    inv = qbo.invoice(c["Id"], 10, "NON")
    payment = qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": c["Id"]},
            "TotalAmt": 10,
            "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}],
        },
    )
    gone = qbo.ok(
        qbo.post("payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete"), "Payment"
    )
    assert gone == {"Id": payment["Id"], "status": "Deleted", "domain": "QBO"}
    return inv["Id"], payment["Id"]


def test_payment_delete_is_a_delete_event_in_both_formats(hooked):
    qbo, receiver = hooked
    invoice_id, payment_id = _paid_then_deleted(qbo, "Acme Ltd")
    qbo.sb.admin("POST", "/webhooks/flush")
    wait_for(lambda: receiver.received)
    ents = receiver.bodies()[-1]["eventNotifications"][0]["dataChangeEvent"]["entities"]
    # The delete re-opens the invoice, so QBO also reports the invoice's Update.
    assert [(e["name"], e["id"], e["operation"]) for e in ents][-2:] == [
        ("Payment", payment_id, "Delete"),
        ("Invoice", invoice_id, "Update"),
    ]
    seen = len(receiver.received)
    qbo.sb.set_webhooks(format="cloudevents")
    _, second = _paid_then_deleted(qbo, "Beta Ltd")
    qbo.sb.admin("POST", "/webhooks/flush")
    wait_for(lambda: len(receiver.received) > seen)
    events = receiver.bodies()[-1]
    assert isinstance(events, list)
    deleted = [e for e in events if e["intuitentityid"] == second and "payment" in e["type"]]
    assert [e["type"] for e in deleted] == ["qbo.payment.created.v1", "qbo.payment.deleted.v1"]
