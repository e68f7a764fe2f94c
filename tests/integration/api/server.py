"""Serving an app over real HTTP from a thread, on a free loopback port; the admin API's app as
the tests build it; schemathesis (its CLI) run against a served OpenAPI document."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from api.admin import AdminDeps
from api.app import Deps, create_app
from api.deliveries import MemoryDeliveryLog
from api.realms import from_mapping
from sequence_qbo.operations import KafkaOperations
from sequence_qbo.settings import Settings
from tests.helpers import wait_until
from tests.unit.api.fakes import ListPublisher

SCHEMATHESIS_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


def bound_socket() -> socket.socket:
    """A loopback socket on a port the kernel picked (no races between tests); its port is known
    before the app is built, for settings that name it (an OAuth redirect URI)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving_on(sock: socket.socket, app: Any) -> Iterator[str]:
    """Yields the base URL once the server accepts requests on `sock`; stops it afterwards."""
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    # uvicorn installs signal handlers only on the main thread; this one is not.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, message="uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop within 10s"


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Yields the base URL once the server accepts requests; stops it afterwards."""
    with serving_on(bound_socket(), app) as url:
        yield url


def admin_app(settings: Settings, admin: AdminDeps | None) -> FastAPI:
    """The service's app with these admin routes (None: without them), webhooks unused, and a
    metrics registry of its own."""
    return create_app(
        Deps(
            settings,
            ListPublisher(),
            from_mapping({}),
            MemoryDeliveryLog(),
            registry=CollectorRegistry(),
            admin=admin,
        )
    )


@contextmanager
def serving_admin(world: Any, token: str, tmp_path: Path, **options: Any) -> Iterator[str]:
    """The admin API over a test world (tests/integration/invoices/world.py): its services,
    its DocumentSync, Kafka operations and reports under tmp_path, plus `options`; yields the
    base URL, and stops the job runner after the server."""
    admin = AdminDeps(
        token,
        world.app.services,
        report_dir=tmp_path / "reports",
        document_sync=lambda: world.sync_service(),
        operations=KafkaOperations(world.app),
        **options,
    )
    try:
        with serving(admin_app(world.c.settings, admin)) as url:
            yield url
    finally:
        admin.jobs.close()


def run_schemathesis(
    openapi_url: str, token: str, paths: str, tmp_path: Path, options: Sequence[str] = ()
) -> str:
    """schemathesis's CLI over the operations whose path matches the regex `paths` (a bounded
    number of deterministic examples each, one worker), with every check of
    SCHEMATHESIS_CHECKS; fails the test unless it passes. Returns its summary; its JSON report
    is kept in tmp_path. `options` go before `run` (e.g. `--config-file`)."""
    report = tmp_path / "schemathesis.json"
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            *options,
            "run",
            openapi_url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            ",".join(SCHEMATHESIS_CHECKS),
            "--include-path-regex",
            paths,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "5",
            "--workers",
            "1",
            "--generation-deterministic",
            "--request-timeout",
            "20",
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    print(run.stdout[-6000:])  # the summary, for the test report
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert " generated, " in summary, summary
    assert "❌" not in summary, summary
    assert json.loads(report.read_text())  # the machine-readable report
    return summary
