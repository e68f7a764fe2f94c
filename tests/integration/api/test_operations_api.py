"""The admin API's Kafka operations over real HTTP (uvicorn) and a real broker: the DLQ listed
with its reason headers, selected dead letters re-injected, a topic replayed as a job (dry run
and for real); and jobs a stopped server left open are failed when it starts again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from api.admin import AdminDeps
from api.jobs import JobKind, JobRunner
from consumers.runtime import dlq, kafka
from sequence_qbo.operations import KafkaOperations
from store import jobs as job_store
from store.db import Database
from tests.helpers import wait_until
from tests.integration.api.server import admin_app, serving
from tests.integration.harness import from_the_start
from tests.integration.invoices.world import World, make_world

pytestmark = pytest.mark.integration

TOKEN = "operations-admin-token"


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        return requests.request(
            method,
            f"{self.base}{path}",
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )

    def job(self, resp: requests.Response) -> dict[str, Any]:
        assert resp.status_code == 202, resp.text

        def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = self("GET", resp.headers["Location"]).json()
            return job if job["status"] in ("succeeded", "failed") else None

        return wait_until(finished, timeout=90, message="the job to finish")


@pytest.fixture
def world(db: Database, settings: Any, qbo_sandbox: Any, schema_registry_url: str) -> World:
    return make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")


def _app(world: World, operations: Any) -> Any:
    admin = AdminDeps(TOKEN, world.app.services, operations=operations)
    return admin_app(world.c.settings, admin)


@pytest.fixture
def api(world: World) -> Iterator[Api]:
    with serving(_app(world, KafkaOperations(world.app))) as base:
        yield Api(base)


def _dead_letter(world: World, key: bytes, reason: str, *, truncated: bool = False) -> None:
    t = world.c.settings.topics
    headers = [
        (dlq.HEADER_SOURCE_TOPIC, t.customer_updated.encode()),
        (dlq.HEADER_SOURCE_PARTITION, b"1"),
        (dlq.HEADER_SOURCE_OFFSET, b"7"),
        (dlq.HEADER_ERROR_CLASS, b"UndecodableRecord"),
        (dlq.HEADER_REASON, reason.encode()),
        (dlq.HEADER_ATTEMPTS, b"1"),
        (dlq.HEADER_FIRST_FAILURE, b"2026-11-30T07:00:00+00:00"),
    ]
    if truncated:
        headers.append((dlq.HEADER_TRUNCATED, b"true"))
    producer = kafka.producer(world.c.settings.kafka_bootstrap)
    # One partition, so the coordinates are predictable: 0:0, 0:1, …
    producer.produce(t.dlq, key=key, value=b"\x00bad", headers=headers, partition=0)
    assert producer.flush(30) == 0


def _keys_in(world: World, topic: str) -> list[bytes | None]:
    found: list[Any] = []
    with from_the_start(world.c.settings.kafka_bootstrap, topic) as consumer:
        for _ in range(10):
            found += [m for m in consumer.consume(100, timeout=0.5) if not m.error()]
    return [m.key() for m in found]


def test_dlq_list_and_replay_selected(api: Api, world: World) -> None:
    _dead_letter(world, b"cus_1", "not Avro: magic byte 0x7b")
    _dead_letter(world, b"cus_2", "unknown schema id 99")
    _dead_letter(world, b"cus_3", "too large", truncated=True)
    letters = api("GET", "/admin/v1/dlq").json()
    assert [x["coordinates"] for x in letters] == ["0:0", "0:1", "0:2"]
    first = letters[0]
    assert (first["key"], first["error_class"], first["reason"]) == (
        "cus_1",
        "UndecodableRecord",
        "not Avro: magic byte 0x7b",
    )
    assert first["source_topic"] == world.c.settings.topics.customer_updated
    assert (first["source_partition"], first["source_offset"]) == ("1", "7")
    assert [x["truncated"] for x in letters] == [False, False, True]
    assert len(api("GET", "/admin/v1/dlq", limit=1).json()) == 1

    dry = api("POST", "/admin/v1/dlq/replay", {"coordinates": ["0:1", "9:9"], "dry_run": True})
    assert dry.status_code == 200, dry.text
    assert [x["key"] for x in dry.json()["reinjected"]] == ["cus_2"]
    assert dry.json()["not_found"] == ["9:9"]
    assert _keys_in(world, world.c.settings.topics.customer_updated) == []

    done = api("POST", "/admin/v1/dlq/replay", {"coordinates": ["0:1"]})
    assert done.status_code == 200 and done.json()["dry_run"] is False
    assert _keys_in(world, world.c.settings.topics.customer_updated) == [b"cus_2"]

    refused = api("POST", "/admin/v1/dlq/replay", {"coordinates": ["0:2"]})
    assert refused.status_code == 422
    assert refused.json()["detail"]["reason"] == "dead_letter_truncated"
    assert api("POST", "/admin/v1/dlq/replay", {"coordinates": []}).status_code == 422


def test_topic_replay_is_a_job(api: Api, world: World) -> None:
    topic = world.c.settings.topics.invoice_finalized
    producer = kafka.producer(world.c.settings.kafka_bootstrap)
    producer.produce(topic, key=b"inv_1", value=b"\x00not-avro")
    assert producer.flush(30) == 0
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()

    dry = api.job(api("POST", "/admin/v1/replay", {"topic": topic, "from": since, "dry_run": True}))
    assert dry["status"] == "succeeded", dry
    assert dry["kind"] == "replay" and dry["account_id"] is None
    assert dry["result"]["counts"] == {"read": 1, "undecodable": 1}
    assert (dry["done"], dry["total"]) == (1, 1)

    real = api.job(api("POST", "/admin/v1/replay", {"topic": topic, "from": since}))
    assert real["status"] == "succeeded", real
    assert real["result"]["counts"]["read"] == 1
    assert real["result"]["dry_run"] is False

    unknown = api("POST", "/admin/v1/replay", {"topic": "nope", "from": since})
    assert unknown.status_code == 422 and unknown.json()["detail"]["reason"] == "unknown_topic"
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    backwards = api("POST", "/admin/v1/replay", {"topic": topic, "from": later, "to": since})
    assert backwards.status_code == 422


def test_without_operations_the_routes_say_so(world: World) -> None:
    with serving(_app(world, None)) as base:
        call = Api(base)
        for resp in (
            call("GET", "/admin/v1/dlq"),
            call("POST", "/admin/v1/dlq/replay", {"coordinates": ["0:0"]}),
            call("POST", "/admin/v1/replay", {"topic": "t", "from": "2026-11-30T00:00"}),
        ):
            assert resp.status_code == 503
            assert resp.json()["detail"]["reason"] == "operations_unavailable"
        assert requests.get(f"{base}/admin/v1/dlq", timeout=10).status_code == 401


def test_jobs_a_stopped_server_left_open_are_failed_when_it_starts_again(db: Database) -> None:
    started = dt.datetime.now(dt.UTC)
    runner = JobRunner(db, "host-a:8080")
    old = job_store.create(
        db, job_id="old", account_id="acct", kind="resync_failed", params={}, owner="host-a:8080"
    )
    other = job_store.create(
        db, job_id="other", account_id="acct", kind="resync_failed", params={}, owner="host-b:8080"
    )
    job_store.start(db, old["id"])
    assert runner.abandon_previous(started + dt.timedelta(seconds=5)) == 1
    failed = job_store.get(db, "old")
    assert failed is not None and failed["status"] == "failed"
    assert failed["error"] == "the server stopped while it ran"
    assert (job_store.get(db, "other") or {})["status"] == "queued"  # another server's
    assert other["owner"] == "host-b:8080"


def test_a_job_whose_work_raises_is_failed_without_its_message(db: Database) -> None:
    runner = JobRunner(db, "host-a:8080")

    def work(_progress: Any) -> Any:
        raise RuntimeError("password=hunter2 leaked into a message")

    job = runner.submit("acct", JobKind.RESYNC_FAILED, {}, work)
    row = wait_until(
        lambda: (r := job_store.get(db, job.id)) and r["status"] == "failed" and r,
        message="the job to fail",
    )
    runner.close()
    assert row["error"] == "unexpected error (RuntimeError); see log"
    assert "hunter2" not in row["error"]
