"""The composition root: builds the service's parts from settings. No logic of its own."""

from __future__ import annotations

from collections.abc import Mapping

from consumers.customers import CustomerUpdatedHandler
from consumers.runtime import kafka
from consumers.runtime.sequential import SequentialRuntime
from consumers.runtime.types import Handler
from schemas.serde import Serde, make_serde
from sequence_qbo.settings import Settings
from store.db import Database


def database(settings: Settings) -> Database:
    return Database(
        settings.database_url.get_secret_value(),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
    )


def serde(settings: Settings) -> Serde:
    return make_serde(settings.schema_registry_url)


def handlers(settings: Settings, db: Database) -> Mapping[str, Handler]:
    """Input topic → handler."""
    t = settings.topics
    return {t.customer_updated: CustomerUpdatedHandler(db)}


def runtime(settings: Settings, handlers_: Mapping[str, Handler]) -> SequentialRuntime:
    return SequentialRuntime(
        consumer=kafka.consumer(settings.kafka_bootstrap, settings.consumer_group),
        producer=kafka.producer(settings.kafka_bootstrap),
        serde=serde(settings),
        handlers=handlers_,
        dlq_topic=settings.topics.dlq,
    )
