"""`/healthz` and `/readyz`: on `run`'s metrics port (a real `sequence-qbo run` process), and
readiness failing when Kafka cannot be reached."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry, Counter

from sandbox.testing import free_port
from sequence_qbo import probes
from sequence_qbo.settings import Settings
from store.db import Database
from tests.helpers import process_env, service_env, wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _get(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=10)
    except requests.ConnectionError:
        return None


def test_run_serves_the_probes_beside_its_metrics(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    topics = {
        f"SEQUENCE_QBO_TOPIC_{field.upper()}": name
        for field, name in settings.topics.model_dump().items()
    }
    env = process_env(
        {
            **service_env(settings),
            **topics,
            "SEQUENCE_QBO_METRICS_PORT": str(port),
            "SEQUENCE_QBO_QBO_ENVIRONMENT": "emulator",
            "SEQUENCE_QBO_QBO_BASE_URL": "http://127.0.0.1:9",
        }
    )
    log = tmp_path / "run.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sequence_qbo", "run", "--only", settings.topics.invoice_sent],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        alive = wait_until(
            lambda: proc.poll() is not None or _get(f"{base}/healthz"),
            timeout=60,
            message="run's /healthz",
        )
        assert proc.poll() is None, log.read_text()[-3000:]
        assert alive.status_code == 200 and alive.json() == {"status": "ok"}
        ready = requests.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"postgresql": "ok", "kafka": "ok"}
        metrics = requests.get(f"{base}/metrics", timeout=10)
        assert metrics.status_code == 200 and "sequence_qbo_" in metrics.text
        assert requests.get(f"{base}/nope", timeout=10).status_code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    assert code == 0, log.read_text()[-3000:]


def test_readiness_is_503_and_names_kafka_when_no_broker_answers(
    settings: Settings, db: Database
) -> None:
    unreachable = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    registry = CollectorRegistry()
    Counter("probe_test", "a metric to find", registry=registry).inc()
    port = free_port()
    server = probes.serve(port, registry, probes.checks(unreachable, db), addr="127.0.0.1")
    try:
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "unavailable",
            "checks": {"postgresql": "ok", "kafka": "unavailable"},
        }
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        assert "probe_test_total 1.0" in requests.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        server.shutdown()
        server.server_close()
