"""The HTTP app: the Intuit webhook receiver, the admin API and the status page, as routers.

`create_app` only assembles; everything with I/O comes in through `Deps`, built by the
composition root (`sequence-qbo serve`) or by a test.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api import admin, console, documents, health, jobs, metrics, operations, status_page, webhooks
from api import connect as connect_routes
from api import payments as payment_routes
from api.deliveries import DeliveryLog
from api.intake import Intake
from api.publisher import ChangePublisher
from api.realms import RealmLookup

__all__ = ["Deps", "create_app"]

log = logging.getLogger(__name__)


class Settings(Protocol):
    """What the app reads of the service's settings (`sequence_qbo.settings.Settings`)."""

    @property
    def webhook_verifier_token(self) -> SecretStr | None: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Deps:
    """What the app needs from the outside world."""

    settings: Settings
    publisher: ChangePublisher  # `qbo.changes`, acknowledged by the broker
    account_for_realm: RealmLookup  # realm id → account id, or None
    deliveries: DeliveryLog  # dedupe keys already handed off
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    clock: Callable[[], dt.datetime] = _utcnow
    admin: admin.AdminDeps | None = None  # the admin API (served when given)
    connect: connect_routes.ConnectDeps | None = None  # OAuth over HTTP (served when given)
    readiness: Mapping[str, health.Check] = field(default_factory=dict)  # /readyz's checks


def create_app(deps: Deps) -> FastAPI:
    app = FastAPI(title="sequence-qbo", summary="QuickBooks Online sync for Sequence")
    webhook_metrics = metrics.WebhookMetrics(deps.registry)
    intake = Intake(deps.account_for_realm, deps.deliveries, deps.publisher, webhook_metrics)
    app.include_router(
        webhooks.router(_verifier_token(deps.settings), intake, webhook_metrics, deps.clock)
    )
    app.include_router(metrics.router(deps.registry))
    app.include_router(health.router(deps.readiness))
    if deps.connect is not None:
        app.include_router(connect_routes.admin_router(deps.connect))
        app.include_router(connect_routes.public_router(deps.connect))
    if deps.admin is not None:
        app.include_router(admin.router(deps.admin))
        app.include_router(documents.router(deps.admin))
        app.include_router(payment_routes.router(deps.admin), responses=admin.ERRORS)
        app.include_router(jobs.router(deps.admin))
        app.include_router(operations.router(deps.admin))
        app.include_router(console.router(deps.admin))
    # Always served: without admin deps it refuses (503) as a token-less admin API does.
    app.include_router(status_page.router(deps.admin))
    return app


def _verifier_token(settings: Settings) -> str | None:
    token = settings.webhook_verifier_token
    if token is None or not token.get_secret_value():
        log.error(
            "no webhook verifier token configured (SEQUENCE_QBO_WEBHOOK_VERIFIER_TOKEN): "
            "every webhook is answered 503 until it is set"
        )
        return None
    return token.get_secret_value()
