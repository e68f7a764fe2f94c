"""`sequence-qbo serve`: the HTTP app (Intuit webhooks, the admin API with connecting QuickBooks,
the status page, `/healthz` and `/readyz`)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import socket
from pathlib import Path
from typing import Any

from sequence_qbo import probes, wiring
from sequence_qbo.errors import CliError
from sequence_qbo.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve the webhook receiver, admin API (connect QuickBooks), status page and probes",
        description="Serves Intuit's webhooks, the admin API (with OAuth connect, disconnect and "
        "connection health), the status page, /healthz and /readyz. Without "
        "SEQUENCE_QBO_WEBHOOK_VERIFIER_TOKEN webhooks are answered 503 (and say why); without "
        "SEQUENCE_QBO_ADMIN_TOKEN the admin API refuses every request.",
    )
    serve.add_argument(
        "--host", help="address to listen on (default: SEQUENCE_QBO_API_HOST, else 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, help="port to listen on (default: SEQUENCE_QBO_API_PORT, else 8000)"
    )
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.api_host
    port = settings.api_port if args.port is None else args.port
    if not 0 < port < 65536:
        raise CliError(f"--port must be between 1 and 65535, not {port}")
    with wiring.Application(settings) as app:
        uvicorn.run(
            build_app(app), host=host, port=port, log_level="info", access_log=False
        )  # no access log: Intuit's callbacks carry codes and states in the query string
    return 0


def build_app(app: wiring.Application) -> Any:
    """The ASGI app `serve` runs, over the application's services (tests serve it too)."""
    from api import realms
    from api.app import Deps, create_app
    from api.deliveries import PgDeliveryLog
    from store.db import StoreUnavailable

    settings = app.settings  # without a webhook verifier token, create_app says so (and 503s)
    try:
        db = app.db
    except StoreUnavailable as exc:
        raise CliError(f"cannot reach PostgreSQL (SEQUENCE_QBO_DATABASE_URL): {exc}") from exc
    deps = Deps(
        settings,
        app.change_publisher(),
        realms.cached(realms.AccountForRealm(db)),
        PgDeliveryLog(db),
        admin=_admin(app) if settings.admin_token else None,
        connect=_connect(app) if settings.admin_token else None,
        readiness=probes.checks(settings, db),
    )
    log.info("serving the admin API, webhooks and probes")
    return create_app(deps)


def _admin(app: wiring.Application) -> Any:
    """The admin API: the same services as the CLI, behind the bearer token."""
    from api.admin import AdminDeps

    settings = app.settings
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    _ = app.clients  # refuses to start without a token encryption key, as `run` does
    # The document sync is built on the first re-sync (its publisher is not needed before).
    from sequence_qbo.operations import KafkaOperations
    from sync import connect as flow

    def begin_connect(account_id: str) -> str:
        return flow.begin(app.db, app.clients, account_id, new_company=False).url

    admin = AdminDeps(
        token,
        app.services,
        report_dir=Path(settings.report_dir),
        document_sync=lambda: app.document_sync,
        operations=KafkaOperations(app),
        begin_connect=begin_connect,
        qbo_environment=settings.qbo_environment,
        qbo_base_url=settings.qbo_base_url,
        job_owner=f"{socket.gethostname()}:{settings.api_port}",
    )
    # Jobs this server's previous run left open ended with it; they are failed, not left
    # running for ever. The pool's threads finish their jobs before the process exits.
    admin.jobs.abandon_previous(dt.datetime.now(dt.UTC))
    return admin


def _connect(app: wiring.Application) -> Any:
    """Connecting QuickBooks over HTTP: the admin routes and Intuit's redirect targets."""
    from api.connect import ConnectDeps

    settings = app.settings
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    return ConnectDeps(token, app.db, app.clients, return_url=settings.oauth_return_url)
