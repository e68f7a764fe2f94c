"""The webhook receiver over real HTTP, handing off to the real broker and deduplicating in the
real database."""

from __future__ import annotations

import datetime as dt
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest
import requests
from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api import realms, signature
from api.app import Deps, create_app
from api.deliveries import PgDeliveryLog
from api.errors import LookupUnavailable
from api.publisher import ChangePublisher, KafkaChangePublisher
from schemas.serde import Serde, make_serde
from sequence_qbo.settings import Settings
from store.db import Database
from tests.helpers import wait_until
from tests.integration.api.server import serving
from tests.integration.harness import read_all
from tests.unit.api.payloads import CLOUDEVENTS, JSON, cloudevent, cloudevents_body, legacy_body

pytestmark = pytest.mark.integration

TOKEN = "integration-verifier-token"
REALM, ACCOUNT = "9130350000000001", "acct-1"


class Switch:
    """A publisher whose target can be swapped: the broker 'goes away' and 'comes back'."""

    def __init__(self, target: ChangePublisher) -> None:
        self.target = target

    def publish(self, changes: Sequence[Mapping[str, Any]], timeout: float) -> None:
        self.target.publish(changes, timeout)


@pytest.fixture
def serde() -> Serde:
    return make_serde(None)


@pytest.fixture
def publisher(settings: Settings, serde: Serde) -> Iterator[KafkaChangePublisher]:
    # A generous timeout: these tests check what is published, not Intuit's 3 s budget, and the
    # shared test broker can be slow while other suites create their topics.
    with KafkaChangePublisher(
        settings.kafka_bootstrap, serde, settings.topics.qbo_changes, timeout=15
    ) as publisher:
        yield publisher


@pytest.fixture
def dead_publisher(serde: Serde) -> Iterator[KafkaChangePublisher]:
    """Points at a loopback port nobody listens on, with a short timeout."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with KafkaChangePublisher(
        f"127.0.0.1:{closed_port}", serde, "qbo.changes", timeout=0.5, log_level=0
    ) as publisher:
        yield publisher


class Receiver:
    def __init__(self, url: str, registry: CollectorRegistry) -> None:
        self.url, self.registry = url, registry

    def post(self, body: bytes, content_type: str = JSON, sig: str | None = "sign") -> int:
        headers = {"Content-Type": content_type}
        if sig is not None:
            headers["intuit-signature"] = signature.sign(TOKEN, body) if sig == "sign" else sig
        return requests.post(
            f"{self.url}/webhooks/quickbooks", data=body, headers=headers, timeout=30
        ).status_code

    def count(self, outcome: str) -> float:
        return (
            self.registry.get_sample_value(
                "sequence_qbo_webhook_requests_total", {"outcome": outcome}
            )
            or 0.0
        )


@pytest.fixture
def receiver_for(settings: Settings, db: Database) -> Iterator[Any]:
    """Starts the app around a given publisher; yields a `Receiver`."""
    settings = settings.model_copy(update={"webhook_verifier_token": SecretStr(TOKEN)})
    with ExitStack() as servers:

        def start(publisher: ChangePublisher) -> Receiver:
            registry = CollectorRegistry()
            deps = Deps(
                settings,
                publisher,
                realms.from_mapping({REALM: ACCOUNT}),
                PgDeliveryLog(db),
                registry,
            )
            return Receiver(servers.enter_context(serving(create_app(deps))), registry)

        yield start


def _on_topic(settings: Settings) -> int:
    """How many records the topic holds (high watermarks: exact once each partition answers)."""
    topic = settings.topics.qbo_changes
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"count-{uuid.uuid4().hex}"}
    )

    def highs() -> list[int] | None:
        try:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            return [
                consumer.get_watermark_offsets(TopicPartition(topic, p), 5)[1] for p in partitions
            ]
        except KafkaException:  # a fresh topic's leader may not be elected yet
            return None

    try:
        found = wait_until(highs, message=f"watermarks of {topic}")
        assert found is not None
        return sum(found)
    finally:
        consumer.close()


def _read(settings: Settings, serde: Serde, expected: int) -> list[dict[str, Any]]:
    messages = read_all(settings.kafka_bootstrap, settings.topics.qbo_changes, expected)
    assert _on_topic(settings) == expected
    return [{"key": m.key().decode(), **serde.decode("qbo.changes", m.value())} for m in messages]


def _millis(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)


LEGACY = legacy_body((REALM, "Invoice", "130", "Update", "2026-11-25T10:00:00.000-08:00"))


def test_bad_signatures_are_401_and_nothing_reaches_the_topic(
    receiver_for: Any, publisher: Any, settings: Settings, serde: Serde
) -> None:
    receiver = receiver_for(publisher)
    tampered = LEGACY.replace(b'"130"', b'"131"')
    assert receiver.post(LEGACY, sig=None) == 401
    assert receiver.post(tampered, sig=signature.sign(TOKEN, LEGACY)) == 401
    assert receiver.post(LEGACY, sig=signature.sign("not-the-token", LEGACY)) == 401
    assert receiver.count("bad_signature") == 3
    assert _on_topic(settings) == 0
    assert receiver.post(LEGACY) == 200  # the control: the same body, signed, gets through
    assert [r["entity_id"] for r in _read(settings, serde, 1)] == ["130"]


@pytest.mark.parametrize("content_type", [JSON, CLOUDEVENTS])
def test_both_formats_land_on_qbo_changes(
    receiver_for: Any, publisher: Any, settings: Settings, serde: Serde, content_type: str
) -> None:
    receiver = receiver_for(publisher)
    event = cloudevent(REALM, "qbo.payment.created.v1", "77", id_="ce-77")
    assert receiver.post(LEGACY, content_type) == 200
    assert receiver.post(cloudevents_body(event), content_type) == 200
    records = sorted(_read(settings, serde, 2), key=lambda r: r["entity"])
    assert [
        (
            r["key"],
            r["account_id"],
            r["entity"],
            r["entity_id"],
            r["operation"],
            r["source"],
            r["dedupe_key"],
        )
        for r in records
    ] == [
        (
            REALM,
            ACCOUNT,
            "Invoice",
            "130",
            "Update",
            "WEBHOOK",
            f"{REALM}/Invoice/130/{_millis('2026-11-25T18:00:00+00:00')}",
        ),
        (REALM, ACCOUNT, "Payment", "77", "Create", "WEBHOOK", "ce-77"),
    ]
    assert records[0]["last_updated"].isoformat() == "2026-11-25T18:00:00+00:00"


def test_redeliveries_are_deduplicated(
    receiver_for: Any, publisher: Any, settings: Settings, serde: Serde, db: Database
) -> None:
    receiver = receiver_for(publisher)
    body = cloudevents_body(cloudevent(REALM, "qbo.invoice.updated.v1", "5", id_="ce-5"))
    assert [receiver.post(body) for _ in range(3)] == [200, 200, 200]
    assert len(_read(settings, serde, 1)) == 1
    assert receiver.count("accepted") == 1
    assert receiver.count("duplicate") == 2
    assert db.all("seen_webhook_deliveries", {"keys": ["ce-5"]}) == [{"dedupe_key": "ce-5"}]


def test_broker_down_is_503_and_the_retry_succeeds(
    receiver_for: Any,
    publisher: Any,
    dead_publisher: Any,
    settings: Settings,
    serde: Serde,
    db: Database,
) -> None:
    switch = Switch(dead_publisher)
    receiver = receiver_for(switch)
    body = cloudevents_body(cloudevent(REALM, "qbo.invoice.updated.v1", "6", id_="ce-6"))
    assert receiver.post(body) == 503
    assert receiver.count("handoff_failed") == 1
    assert db.all("seen_webhook_deliveries", {"keys": ["ce-6"]}) == []  # not marked as seen
    switch.target = publisher  # the broker is back; Intuit retries the same delivery
    assert receiver.post(body) == 200
    assert [r["dedupe_key"] for r in _read(settings, serde, 1)] == ["ce-6"]


def test_unknown_realms_are_ignored(receiver_for: Any, publisher: Any, settings: Settings) -> None:
    receiver = receiver_for(publisher)
    body = cloudevents_body(cloudevent("not-connected", "qbo.invoice.updated.v1", "1"))
    assert receiver.post(body) == 200
    assert receiver.count("unknown_realm") == 1
    assert _on_topic(settings) == 0


def _connect(db_url: str, account: str, realm: str, status: str, minutes_ago: int) -> None:
    tokens = (b"enc", b"enc") if status == "active" else (None, None)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "insert into qbo_connections (account_id, realm_id, environment, status,"
            " access_token_enc, refresh_token_enc, connected_at)"
            " values (%s, %s, 'sandbox', %s, %s, %s, now() - make_interval(mins => %s))",
            (account, realm, status, *tokens, minutes_ago),
        )


def test_the_store_lookup_finds_the_connected_account(db: Database, db_url: str) -> None:
    _connect(db_url, "acct-old", "r-1", "disconnected", 60)  # one holder per realm (0010)
    _connect(db_url, "acct-new", "r-1", "active", 1)
    _connect(db_url, "acct-reauth", "r-2", "needs_reauth", 1)
    _connect(db_url, "acct-gone", "r-3", "disconnected", 1)
    lookup = realms.AccountForRealm(db)
    assert [lookup(r) for r in ("r-1", "r-2", "r-3", "r-4")] == [
        "acct-new",
        "acct-reauth",
        None,
        None,
    ]


def test_the_store_lookup_explains_a_missing_connections_table(db: Database, db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("drop table qbo_connections")
    with pytest.raises(LookupUnavailable, match="migration 0002"):
        realms.AccountForRealm(db)("any-realm")
