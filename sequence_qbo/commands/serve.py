"""`sequence-qbo serve`: the HTTP app (Intuit webhooks, the admin API, the status page)."""

from __future__ import annotations

import argparse
import functools
import logging
from pathlib import Path
from typing import Any

from sequence_qbo import wiring
from sequence_qbo.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="serve the webhook receiver, admin API and status page")
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api import realms
    from api.app import Deps, create_app
    from api.deliveries import PgDeliveryLog
    from api.publisher import KafkaChangePublisher
    from sequence_qbo.cli import CliError
    from store.db import StoreUnavailable

    token = settings.webhook_verifier_token
    if token is None or not token.get_secret_value():
        raise CliError(
            "SEQUENCE_QBO_WEBHOOK_VERIFIER_TOKEN is not set, so no Intuit webhook "
            "could be verified: set it to the app's verifier token and start again."
        )
    try:
        db = wiring.database(settings).open()
    except StoreUnavailable as exc:
        raise CliError(f"cannot reach PostgreSQL (SEQUENCE_QBO_DATABASE_URL): {exc}") from exc
    publisher = KafkaChangePublisher(
        settings.kafka_bootstrap, wiring.serde(settings), settings.topics.qbo_changes
    )
    try:
        with publisher:
            lookup = realms.cached(realms.AccountForRealm(db))
            deps = Deps(
                settings,
                publisher,
                lookup,
                PgDeliveryLog(db),
                admin=_admin(settings, db) if settings.admin_token else None,
            )
            log.info("serving on http://%s:%d", settings.api_host, settings.api_port)
            uvicorn.run(
                create_app(deps),
                host=settings.api_host,
                port=settings.api_port,
                log_level="info",
                access_log=False,
            )
    finally:
        db.close()
    return 0


def _admin(settings: Settings, db: wiring.Database) -> Any:
    """The admin API: the same services as the CLI, behind the bearer token."""
    from api.admin import AdminDeps
    from sync.deps import Deps as ServiceDeps
    from sync.deps import from_factory
    from sync.outbox import kafka_publishing

    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    clients = wiring.qbo_clients(settings)
    serde = wiring.serde(settings)
    services = ServiceDeps(db, from_factory(clients), kafka_publishing(settings, serde))
    # Built on the first re-sync (its Kafka producer is not needed before), then reused.
    sync = functools.cache(lambda: wiring.document_sync(settings, db, clients, serde))
    return AdminDeps(token, services, report_dir=Path(settings.report_dir), document_sync=sync)
