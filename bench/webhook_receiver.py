"""Webhook receiver under load: `sequence-qbo serve`'s code path in a subprocess (real Kafka and
PostgreSQL), driven at a fixed rate from this process over loopback with signed payloads (half
legacy, half CloudEvents, every one new, so each request is a real hand-off).

    .venv/bin/python bench/webhook_receiver.py [RATE] [SECONDS]      (default 200/s for 10 s)

Open loop: request i is due at start + i/RATE whatever happened before, and its latency is
counted from that due time, so a stalled server shows up in the figures instead of slowing
the driver down (no coordinated omission).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import requests
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from api import signature
from sequence_qbo.settings import Settings
from sequence_qbo.topics import ensure_topics
from store.migrate import migrate

# The infrastructure's addresses as the service takes them (SEQUENCE_QBO_DATABASE_URL,
# SEQUENCE_QBO_KAFKA_BOOTSTRAP; defaults: `make infra-up`).
_SETTINGS = Settings()
PG = _SETTINGS.database_url.get_secret_value().rsplit("/", 1)[0]
KAFKA = _SETTINGS.kafka_bootstrap
TOKEN = "bench-verifier-token"
REALM, ACCOUNT = "9130350000000042", "acct_bench"


def _serve() -> None:
    """The server side: exactly what `sequence-qbo serve` runs, settings from the environment."""
    from sequence_qbo import settings
    from sequence_qbo.commands import serve

    sys.exit(serve._serve(argparse.Namespace(host=None, port=None), settings.load()))


def _database(name: str) -> str:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    url = f"{PG}/{name}"
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:  # the realm's account (migration 0002)
        conn.execute(
            "insert into qbo_connections (account_id, realm_id, environment, status,"
            " access_token_enc, refresh_token_enc) values (%s, %s, 'sandbox', 'active', %s, %s)",
            (ACCOUNT, REALM, b"x", b"x"),
        )
    return url


def _bodies(n: int) -> list[tuple[bytes, str]]:
    out = []
    for i in range(n):
        if i % 2:
            body = json.dumps(
                [
                    {
                        "specversion": "1.0",
                        "id": str(uuid.uuid4()),
                        "source": "intuit.bench",
                        "type": "qbo.invoice.updated.v1",
                        "time": "2026-11-25T10:00:00.123Z",
                        "intuitentityid": str(i),
                        "intuitaccountid": REALM,
                    }
                ]
            ).encode()
        else:
            body = json.dumps(
                {
                    "eventNotifications": [
                        {
                            "realmId": REALM,
                            "dataChangeEvent": {
                                "entities": [
                                    {
                                        "name": "Payment",
                                        "id": str(i),
                                        "operation": "Create",
                                        "lastUpdated": "2026-11-25T10:00:00.000Z",
                                    }
                                ]
                            },
                        }
                    ]
                }
            ).encode()
        out.append((body, signature.sign(TOKEN, body)))
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepted(url: str) -> float:
    metrics = requests.get(f"{url}/metrics", timeout=5).text
    line = 'sequence_qbo_webhook_requests_total{outcome="accepted"} '
    return sum(float(row[len(line) :]) for row in metrics.splitlines() if row.startswith(line))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), all threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_ready(url: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            if requests.get(f"{url}/metrics", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not answer within 30 s")


def _drive(
    port: int, bodies: list[tuple[bytes, str]], rate: float
) -> list[tuple[int | str, float]]:
    """(status, or the error's name: "timeout", "ConnectionResetError"...; seconds from due
    time to the end) per request, sent open-loop at `rate`. Every request is accounted for: a
    request that failed or timed out (10 s) is counted as such, never dropped.

    http.client with one keep-alive connection per worker thread: `requests` costs ~2 ms of CPU
    per call, which on a small box would be taken from the server being measured.
    """
    local = threading.local()

    def send(body: bytes, sig: str, due: float) -> tuple[int | str, float]:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            local.conn.request(
                "POST",
                "/webhooks/quickbooks",
                body=body,
                headers={"Content-Type": "application/json", "intuit-signature": sig},
            )
            reply = local.conn.getresponse()
            reply.read()
            return reply.status, time.perf_counter() - due
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            local.conn.close()
            del local.conn  # the next request opens a fresh connection
            name = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            return name, time.perf_counter() - due

    start = time.perf_counter() + 0.2
    futures = []
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i, (body, sig) in enumerate(bodies):
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            futures.append(pool.submit(send, body, sig, due))
    return [f.result() for f in futures]


def _report(results: list[tuple[int | str, float]], elapsed: float, rate: float) -> None:
    latencies = sorted(seconds for _, seconds in results)
    statuses: dict[int | str, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    failed = sum(n for status, n in statuses.items() if status != 200)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        f"{len(results)} signed webhooks, target {rate:.0f}/s, achieved "
        f"{len(results) / elapsed:.1f}/s; statuses {statuses}"
    )
    print(f"not answered 200 (errors, timeouts, refusals): {failed} of {len(results)}")
    print(
        f"response time: p50 {pct(0.50):.1f} ms, p90 {pct(0.90):.1f} ms, "
        f"p99 {pct(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


def main(rate: float, seconds: float) -> None:
    suffix = uuid.uuid4().hex[:8]
    topic, dbname, port = f"bench{suffix}.qbo.changes", f"sqbo_bench_{suffix}", _free_port()
    ensure_topics(KAFKA, [topic], partitions=6)
    env = {
        **os.environ,
        "SEQUENCE_QBO_DATABASE_URL": _database(dbname),
        "SEQUENCE_QBO_KAFKA_BOOTSTRAP": KAFKA,
        "SEQUENCE_QBO_TOPIC_QBO_CHANGES": topic,
        "SEQUENCE_QBO_WEBHOOK_VERIFIER_TOKEN": TOKEN,
        "SEQUENCE_QBO_API_PORT": str(port),
    }
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], env=env, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, server)
        bodies = _bodies(int(rate * seconds))
        started, cpu = time.perf_counter(), (_cpu_seconds(server.pid), time.process_time())
        results = _drive(port, bodies, rate)
        _report(results, time.perf_counter() - started, rate)
        print(f"handed off to {topic}: {_accepted(url):.0f} (server's own count)")
        server_cpu = _cpu_seconds(server.pid) - cpu[0]
        driver_cpu = time.process_time() - cpu[1]
        print(
            f"CPU per request: server {server_cpu / len(results) * 1000:.2f} ms, "
            f"driver {driver_cpu / len(results) * 1000:.2f} ms "
            f"({os.cpu_count()} CPUs shared with Kafka and PostgreSQL; "
            f"load average {os.getloadavg()[0]:.1f})"
        )
    finally:
        server.send_signal(signal.SIGINT)  # like Ctrl-C: the server closes its clients
        server.wait(30)
        kafka_admin = AdminClient({"bootstrap.servers": KAFKA})  # alive until the futures end
        for deleted in kafka_admin.delete_topics([topic]).values():
            deleted.result(30)
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as admin:
            admin.execute(f'drop database if exists "{dbname}" with (force)')


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        _serve()
    else:
        args = [float(a) for a in sys.argv[1:3]]
        main(*(args + [200.0, 10.0][len(args) :]))
