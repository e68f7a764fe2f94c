"""What the benches take from the environment, like the service (SEQUENCE_QBO_DATABASE_URL,
SEQUENCE_QBO_KAFKA_BOOTSTRAP, ...): the infrastructure's addresses are never hard-coded."""

from __future__ import annotations

import uuid

import psycopg
from cryptography.fernet import Fernet

from sequence_qbo.settings import Settings, Topics
from store.migrate import migrate


def base_settings() -> Settings:
    """The service's settings as the environment gives them (defaults: `make infra-up`)."""
    return Settings()


def fresh_database(settings: Settings) -> str:
    """A new, migrated database on the configured PostgreSQL server; its URL."""
    url = settings.database_url.get_secret_value()
    server, _name = url.rsplit("/", 1)
    name = f"sqbo_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    fresh = f"{server}/{name}"
    migrate(fresh)
    return fresh


def bench_settings(settings: Settings, db_url: str, base_url: str, **more: object) -> Settings:
    """Topics and a consumer group of the bench's own, the emulator as QBO."""
    suffix = uuid.uuid4().hex[:8]
    topics = Topics(**{k: f"bench{suffix}.{v}" for k, v in Topics().model_dump().items()})
    return Settings(
        **{
            **settings.model_dump(),
            "database_url": db_url,
            "topics": topics,
            "consumer_group": f"bench-{suffix}",
            "qbo_environment": "emulator",
            "qbo_base_url": base_url,
            "token_encryption_key": Fernet.generate_key().decode(),
            **more,
        }
    )
