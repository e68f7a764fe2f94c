"""Prometheus metrics of the HTTP app, on a registry per app (no process-global state, so
several apps, e.g. in tests, never collide), served at `GET /metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

__all__ = ["REQUEST_OUTCOMES", "WebhookMetrics", "router"]

# One outcome per webhook request; the first that applies, in this order of precedence.
REQUEST_OUTCOMES = (
    "too_large",
    "disabled",
    "bad_signature",
    "handoff_failed",
    "accepted",
    "duplicate",
    "unknown_realm",
    "malformed",
    "empty",
    "error",
)
NOTICE_OUTCOMES = ("accepted", "duplicate", "unknown_realm", "malformed")


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "sequence_qbo_webhook_requests",
            "Intuit webhook requests, by outcome",
            ["outcome"],
            registry=registry,
        )
        self.notices = Counter(
            "sequence_qbo_webhook_notices",
            "Change notices in webhook requests, by outcome",
            ["outcome"],
            registry=registry,
        )
        self.handoff_seconds = Histogram(
            "sequence_qbo_webhook_handoff_seconds",
            "Time to get the broker's acknowledgement for one request's notices",
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3),
        )
        # Zero-valued series from the start, so rate() and alerts work before the first event.
        for outcome in REQUEST_OUTCOMES:
            self.requests.labels(outcome)
        for outcome in NOTICE_OUTCOMES:
            self.notices.labels(outcome)


def router(registry: CollectorRegistry) -> APIRouter:
    routes = APIRouter()

    @routes.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return routes
