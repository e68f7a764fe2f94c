"""Prometheus metrics of the consumer runtime, on a registry passed in (no global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from consumers.runtime.types import Done, Failed, Outcome, Poison

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RuntimeMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.processed = Counter(
            "sequence_qbo_messages_processed",
            "Messages done with, by the label of their outcome",
            ["topic", "outcome"],
            registry=r,
        )
        self.failed = Counter(
            "sequence_qbo_messages_failed",
            "Messages that failed (business failure or dead-lettered), by reason",
            ["topic", "reason"],
            registry=r,
        )
        self.retries = Counter(
            "sequence_qbo_retries",
            "Attempts scheduled again after a transient failure",
            ["topic"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "sequence_qbo_dead_lettered",
            "Messages written to the DLQ",
            ["topic", "error_class"],
            registry=r,
        )
        self.handler_errors = Counter(
            "sequence_qbo_handler_errors",
            "Unexpected exceptions raised by handlers (bugs): each is logged and retried",
            ["topic", "exception"],
            registry=r,
        )
        self.in_flight = Gauge("sequence_qbo_in_flight", "Handler calls running", registry=r)
        self.waiting_retry = Gauge(
            "sequence_qbo_waiting_retry",
            "Messages waiting for their next attempt after a transient failure",
            registry=r,
        )
        self.buffered = Gauge(
            "sequence_qbo_buffered", "Messages polled and not yet done", registry=r
        )
        self.pauses = Counter(
            "sequence_qbo_backpressure_pauses",
            "Times every partition was paused because the buffer was full",
            registry=r,
        )
        self.lag = Gauge(
            "sequence_qbo_consumer_lag",
            "High watermark minus the committable position",
            ["topic", "partition"],
            registry=r,
        )
        self.latency = Histogram(
            "sequence_qbo_handler_seconds",
            "Handler latency per attempt",
            ["topic"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    def count(self, topic: str, outcome: Outcome) -> None:
        """One message done with."""
        if isinstance(outcome, Done):
            self.processed.labels(topic, outcome.label).inc()
        elif isinstance(outcome, Failed):
            self.processed.labels(topic, "failed").inc()
            self.failed.labels(topic, outcome.reason_code).inc()
        elif isinstance(outcome, Poison):
            self.processed.labels(topic, "dead-lettered").inc()
            self.failed.labels(topic, outcome.error_class).inc()

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104  # scraped remotely
        """Starts the /metrics endpoint (a daemon thread)."""
        start_http_server(port, addr=addr, registry=self.registry)
