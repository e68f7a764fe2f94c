"""Helpers shared by the tests: condition waits (never sleep-and-hope); the environment a
service process reads; a browser's GET."""

from __future__ import annotations

import http.client
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.05,
    message: str = "condition",
) -> T:
    """Polls `condition` until it returns something truthy; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message} ({last!r})")
        time.sleep(interval)
        last = condition()
    return last


def process_env(variables: dict[str, str]) -> dict[str, str]:
    """A child process's environment: this one's without its SEQUENCE_QBO_*, plus `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEQUENCE_QBO_")}
    return {**env, **variables}


def service_env(settings: Any) -> dict[str, str]:
    """The SEQUENCE_QBO_* variables for `sequence-qbo` on these settings' broker and database
    (consumer group, customer.updated and DLQ topics), under a new token key."""
    return {
        "SEQUENCE_QBO_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SEQUENCE_QBO_DATABASE_URL": settings.database_url.get_secret_value(),
        "SEQUENCE_QBO_CONSUMER_GROUP": settings.consumer_group,
        "SEQUENCE_QBO_TOPIC_CUSTOMER_UPDATED": settings.topics.customer_updated,
        "SEQUENCE_QBO_TOPIC_DLQ": settings.topics.dlq,
        "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }


def browser_get(url: str) -> tuple[int, str]:
    """A browser's GET that does not follow a redirect: (status, Location). Plain http.client,
    outside the logs under test (urllib3 would log the URL, an OAuth callback's code included,
    which a real browser does not put in our logs)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        resp = conn.getresponse()
        return resp.status, resp.getheader("location") or ""
    finally:
        conn.close()
