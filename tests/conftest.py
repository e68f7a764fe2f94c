"""Fixtures shared by every test.

Integration tests talk to the real services started by `make infra-up` (a `kafka.Kafka` JVM and
a PostgreSQL server). Each test gets its own database (a copy of a migrated template) and its
own topics, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from confluent_kafka.admin import AdminClient

from sequence_qbo.settings import Settings, Topics
from sequence_qbo.topics import ensure_topics
from store.db import Database
from store.migrate import migrate

# The same variables as infra/env.sh, so `KAFKA_PORT=19092 make test` tests a second broker.
_PG_PORT = os.environ.get("PG_PORT", "55432")
PG_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", f"postgresql://sequence_qbo:sequence_qbo@127.0.0.1:{_PG_PORT}/postgres"
)
KAFKA_BOOTSTRAP = os.environ.get(
    "TEST_KAFKA_BOOTSTRAP", f"127.0.0.1:{os.environ.get('KAFKA_PORT', '9092')}"
)
TEMPLATE_DB = f"sqbo_template_{os.getpid()}"


@pytest.fixture(autouse=True)
def _clean_service_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's SEQUENCE_QBO_* variables must not leak into tests."""
    for name in list(os.environ):
        if name.startswith("SEQUENCE_QBO_"):
            monkeypatch.delenv(name)


def _db_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A database migrated once per session; every test database is a copy of it."""
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (run `make infra-up`): {exc}")
    with admin:
        admin.execute(f'drop database if exists "{TEMPLATE_DB}"')
        admin.execute(f'create database "{TEMPLATE_DB}"')
        migrate(_db_url(TEMPLATE_DB))
        yield TEMPLATE_DB
        admin.execute(f'drop database if exists "{TEMPLATE_DB}" with (force)')


@pytest.fixture
def db_url(pg_template: str) -> Iterator[str]:
    name = f"sqbo_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'create database "{name}" template "{pg_template}"')
    yield _db_url(name)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    with Database(db_url, min_size=1, max_size=8) as database:
        yield database


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    try:
        AdminClient({"bootstrap.servers": KAFKA_BOOTSTRAP}).list_topics(timeout=10)
    except Exception as exc:
        pytest.fail(f"Kafka is not reachable at {KAFKA_BOOTSTRAP} (run `make infra-up`): {exc}")
    return KAFKA_BOOTSTRAP


@pytest.fixture
def topics(kafka_bootstrap: str) -> Iterator[Topics]:
    """Topic names unique to this test, created with 3 partitions and deleted afterwards (a
    single-node KRaft broker slows to a crawl with tens of thousands of partitions)."""
    suffix = uuid.uuid4().hex[:10]
    names = {field: f"t{suffix}.{default}" for field, default in Topics().model_dump().items()}
    unique = Topics(**names)
    ensure_topics(kafka_bootstrap, unique.all(), partitions=3)
    yield unique
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    for future in admin.delete_topics(unique.all(), operation_timeout=30).values():
        future.result(60)


@pytest.fixture
def settings(db_url: str, kafka_bootstrap: str, topics: Topics) -> Settings:
    return Settings(
        database_url=db_url,
        kafka_bootstrap=kafka_bootstrap,
        topics=topics,
        consumer_group=f"g-{uuid.uuid4().hex[:10]}",
    )


REGISTRY_URL = os.environ.get(
    "TEST_SCHEMA_REGISTRY_URL",
    f"http://127.0.0.1:{os.environ.get('REGISTRY_PORT', '8081')}/apis/ccompat/v7",
)


@pytest.fixture(scope="session")
def schema_registry_url() -> str:
    """The Apicurio registry started by `make infra-up` (Confluent-compatible API).

    Without Java 21+ it cannot run; then the tests fall back to confluent-kafka's in-process
    mock registry, and say so in the test report header. Not under CI (CI=true): there a
    missing registry fails the tests that need it.
    """
    import requests

    try:
        requests.get(f"{REGISTRY_URL}/subjects", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Schema Registry at {REGISTRY_URL} under CI (`make infra-up`): {exc}")
        return "mock://sequence-qbo-tests"
    return REGISTRY_URL


def pytest_report_header(config: pytest.Config) -> str:
    import requests

    try:
        requests.get(f"{REGISTRY_URL}/subjects", timeout=2).raise_for_status()
        return f"schema registry: {REGISTRY_URL}"
    except requests.RequestException:
        if os.environ.get("CI") == "true":
            return "schema registry: NOT RUNNING: registry tests fail under CI"
        return "schema registry: NOT RUNNING (needs Java 21+): registry tests use mock://"
