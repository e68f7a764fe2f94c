"""The app in-process: status codes, formats, content types and metrics, with fake I/O."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api import realms, signature
from api.app import Deps, create_app
from api.deliveries import MemoryDeliveryLog
from api.errors import LookupUnavailable
from sequence_qbo.settings import Settings
from tests.unit.api import asgi
from tests.unit.api.fakes import ListPublisher
from tests.unit.api.payloads import CLOUDEVENTS, JSON, cloudevent, cloudevents_body, legacy_body

TOKEN = "unit-test-verifier-token"
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


class App:
    def __init__(self, token: str | None = TOKEN, lookup: realms.RealmLookup | None = None):
        self.publisher = ListPublisher()
        self.registry = CollectorRegistry()
        settings = Settings(webhook_verifier_token=SecretStr(token) if token else None)
        self.app = create_app(
            Deps(
                settings,
                self.publisher,
                lookup or realms.from_mapping({"100": "acct-100"}),
                MemoryDeliveryLog(),
                self.registry,
                clock=lambda: NOW,
            )
        )

    def post(
        self,
        body: bytes,
        *,
        content_type: str = JSON,
        sign_with: str | None = TOKEN,
        sig: str | None = None,
    ) -> asgi.Reply:
        headers = {"content-type": content_type}
        if sign_with is not None:
            headers["intuit-signature"] = signature.sign(sign_with, body) if sig is None else sig
        return asgi.request(self.app, "POST", "/webhooks/quickbooks", body, headers)

    def count(self, metric: str, outcome: str) -> float:
        value = self.registry.get_sample_value(
            f"sequence_qbo_webhook_{metric}_total", {"outcome": outcome}
        )
        return value or 0.0


LEGACY = legacy_body(("100", "Invoice", "42", "Update", "2026-11-25T09:59:00Z"))
EVENTS = cloudevents_body(cloudevent("100", "qbo.payment.created.v1", "9", id_="ce-1"))


@pytest.mark.parametrize("body", [LEGACY, EVENTS], ids=["legacy", "cloudevents"])
@pytest.mark.parametrize("content_type", [JSON, CLOUDEVENTS, f"{JSON}; charset=utf-8"])
def test_both_formats_with_either_content_type_are_handed_off(
    body: bytes, content_type: str
) -> None:
    app = App()
    reply = app.post(body, content_type=content_type)
    assert reply.status == 200, reply.body
    assert reply.json()["accepted"] == 1
    assert [r["account_id"] for r in app.publisher.records] == ["acct-100"]
    assert app.count("requests", "accepted") == 1


@pytest.mark.parametrize(
    ("sign_with", "sig"), [(None, None), (TOKEN, "bm9wZQ=="), ("wrong-token", None), (TOKEN, "")]
)
def test_bad_or_missing_signatures_are_401_and_publish_nothing(
    sign_with: str | None, sig: str | None
) -> None:
    app = App()
    assert app.post(LEGACY, sign_with=sign_with, sig=sig).status == 401
    assert app.publisher.records == []
    assert app.count("requests", "bad_signature") == 1


def test_a_tampered_body_is_401() -> None:
    app = App()
    reply = app.post(LEGACY.replace(b'"42"', b'"43"'), sig=signature.sign(TOKEN, LEGACY))
    assert reply.status == 401
    assert app.publisher.records == []


def test_without_a_verifier_token_every_request_is_503_and_says_why() -> None:
    app = App(token=None)
    for sign_with in ("", "anything"):
        reply = app.post(LEGACY, sign_with=sign_with)
        assert reply.status == 503
        assert reply.json()["detail"]["reason"] == "webhooks_disabled"
        assert "SEQUENCE_QBO_WEBHOOK_VERIFIER_TOKEN" in reply.json()["detail"]["message"]
    assert app.publisher.records == []
    assert app.count("requests", "disabled") == 2


def test_a_signed_but_malformed_body_is_200_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    reply = app.post(b"{not json")
    assert reply.status == 200
    assert reply.json()["malformed"] == 1
    assert app.count("requests", "malformed") == 1
    assert app.count("notices", "malformed") == 1
    assert "unusable" in caplog.text
    assert TOKEN not in caplog.text


def test_handoff_failure_is_503_and_the_retry_succeeds() -> None:
    app = App()
    app.publisher.failing = True
    assert app.post(EVENTS).status == 503
    app.publisher.failing = False
    assert app.post(EVENTS).status == 200
    assert len(app.publisher.records) == 1
    assert app.count("requests", "handoff_failed") == 1


def test_lookup_failure_is_503() -> None:
    def down(realm: str) -> str | None:
        raise LookupUnavailable("database down (fake)")

    assert App(lookup=down).post(EVENTS).status == 503


def test_a_bug_is_a_500_not_a_crash() -> None:
    def buggy(realm: str) -> str | None:
        raise KeyError(realm)

    app = App(lookup=buggy)
    assert app.post(EVENTS).status == 500
    assert app.count("requests", "error") == 1


def test_unknown_realm_is_200_and_counted() -> None:
    app = App()
    body = cloudevents_body(cloudevent("999", "qbo.invoice.updated.v1", "1"))
    assert app.post(body).status == 200
    assert app.publisher.records == []
    assert app.count("requests", "unknown_realm") == 1
    assert app.count("notices", "unknown_realm") == 1


def test_redeliveries_are_200_and_counted_as_duplicates() -> None:
    app = App()
    replies = [app.post(EVENTS).json() for _ in range(3)]
    assert [r["accepted"] for r in replies] == [1, 0, 0]
    assert len(app.publisher.records) == 1
    assert app.count("requests", "duplicate") == 2


def test_metrics_are_exposed() -> None:
    app = App()
    app.post(LEGACY)
    reply = asgi.request(app.app, "GET", "/metrics")
    assert reply.status == 200
    assert b'sequence_qbo_webhook_requests_total{outcome="accepted"} 1.0' in reply.body


def test_an_oversized_body_is_refused_before_the_signature_is_checked() -> None:
    from api.webhooks import MAX_BODY

    app = App()
    body = b"[" + b" " * MAX_BODY + b"]"
    assert app.post(body).status == 413
    assert app.publisher.records == []
    assert app.count("requests", "too_large") == 1


def test_a_declared_oversized_body_is_413_before_any_of_it_is_read() -> None:
    from api.webhooks import MAX_BODY

    app = App()
    assert MAX_BODY == 1024 * 1024
    # The header says more than 1 MiB while the body sent is tiny: only the header can have
    # refused it, before reading.
    reply = asgi.request(
        app.app,
        "POST",
        "/webhooks/quickbooks",
        LEGACY,
        {"content-type": JSON, "content-length": str(MAX_BODY + 1)},
    )
    assert reply.status == 413
    assert app.count("requests", "too_large") == 1
    ok = {"content-type": JSON, "content-length": str(len(LEGACY))}
    ok["intuit-signature"] = signature.sign(TOKEN, LEGACY)
    assert asgi.request(app.app, "POST", "/webhooks/quickbooks", LEGACY, ok).status == 200
