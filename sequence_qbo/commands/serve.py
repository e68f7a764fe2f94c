"""`sequence-qbo serve`: the HTTP app (Intuit webhooks, the admin API, the status page)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from sequence_qbo import wiring
from sequence_qbo.errors import CliError
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
    from store.db import StoreUnavailable

    token = settings.webhook_verifier_token
    if token is None or not token.get_secret_value():
        raise CliError(
            "SEQUENCE_QBO_WEBHOOK_VERIFIER_TOKEN is not set, so no Intuit webhook "
            "could be verified: set it to the app's verifier token and start again."
        )
    with wiring.Application(settings) as app:
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
        )
        log.info("serving on http://%s:%d", settings.api_host, settings.api_port)
        uvicorn.run(
            create_app(deps),
            host=settings.api_host,
            port=settings.api_port,
            log_level="info",
            access_log=False,
        )
    return 0


def _admin(app: wiring.Application) -> Any:
    """The admin API: the same services as the CLI, behind the bearer token."""
    from api.admin import AdminDeps

    settings = app.settings
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    _ = app.clients  # refuses to start without a token encryption key, as `run` does
    # The document sync is built on the first re-sync (its publisher is not needed before).
    return AdminDeps(
        token,
        app.services,
        report_dir=Path(settings.report_dir),
        document_sync=lambda: app.document_sync,
    )
