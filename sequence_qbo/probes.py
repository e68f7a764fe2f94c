"""Liveness and readiness for orchestrators: the checks `/readyz` runs (PostgreSQL and Kafka
reachable), and, for `run`, a small HTTP server that serves them beside `/metrics` on the
metrics port (`serve` has them as routes of its app: `api/health.py`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from confluent_kafka.admin import AdminClient
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.health import Check, readiness
from sequence_qbo.settings import Settings
from store import connections
from store.db import Database

__all__ = ["checks", "serve"]

log = logging.getLogger(__name__)

KAFKA_TIMEOUT = 3.0


def checks(settings: Settings, db: Database) -> dict[str, Check]:
    """PostgreSQL answers a query; a Kafka broker answers a metadata request."""
    admin: list[AdminClient] = []  # built on the first probe, then reused

    def kafka() -> None:
        if not admin:
            admin.append(AdminClient({"bootstrap.servers": settings.kafka_bootstrap}))
        admin[0].list_topics(timeout=KAFKA_TIMEOUT)

    return {"postgresql": lambda: connections.ping(db), "kafka": kafka}


def serve(
    port: int,
    registry: CollectorRegistry,
    probes: Mapping[str, Check],
    addr: str = "0.0.0.0",  # noqa: S104  # scraped and probed remotely
) -> ThreadingHTTPServer:
    """`/metrics`, `/healthz` and `/readyz` on `port`, from a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif path == "/healthz":
                self._json(200, {"status": "ok"})
            elif path == "/readyz":
                ready, results = readiness(probes)
                status = "ready" if ready else "unavailable"
                self._json(200 if ready else 503, {"status": status, "checks": results})
            else:
                self._json(404, {"detail": "not found"})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, "application/json", json.dumps(body).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: probes come every few seconds."""

    server = ThreadingHTTPServer((addr, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
