"""Cross-process QBO quotas: three processes hammer one emulator realm whose quota is QBO's
real one (500/min, 10/s, 10 concurrent). Prints the share of the quota reached and the 429s.

    .venv/bin/python bench/qbo_quota.py [--seconds 66] [--processes 3] [--threads 6]

Needs PostgreSQL (`make infra-up`); uses a scratch database it creates and drops. The emulator
adds `--latency-ms` to every answer so that concurrency, not only the rate, is in play.
`worker` mode is what each process runs (tests/integration/qbo/test_quota.py uses it too).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LIMITS = {"per_minute": 500, "per_second": 10, "concurrent": 10, "batch_per_minute": 40}


def worker(args: argparse.Namespace) -> None:
    """Threads calling GET companyinfo as fast as the shared quota lets them, until the end."""
    from qbo import errors
    from qbo.quota import Limits
    from sequence_qbo.qbo_store import client_factory
    from sequence_qbo.settings import Settings
    from store.db import Database

    settings = Settings(
        database_url=args.db_url,
        qbo_environment="emulator",
        qbo_base_url=args.base_url,
        token_encryption_key=args.key,
    )
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    with Database(args.db_url, min_size=1, max_size=args.threads + 2) as db:
        factory = client_factory(settings, db, limits=Limits(max_wait=90.0))
        realm_id, client = factory.for_account(args.account)
        print("ready", flush=True)
        start_at = float(sys.stdin.readline())  # all processes start together
        stop_at = start_at + args.seconds

        def hammer() -> None:
            while time.time() < stop_at:
                try:
                    client.call("GET", f"companyinfo/{realm_id}")
                    outcome = "ok"
                except errors.QboError as exc:
                    outcome = type(exc).__name__
                with lock:
                    outcomes[outcome] += 1

        time.sleep(max(0.0, start_at - time.time()))
        threads = [threading.Thread(target=hammer) for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        factory.close()
    print(json.dumps(dict(outcomes)))


def spawn(
    n: int, *, db_url: str, base_url: str, account: str, key: str, seconds: float, threads: int
) -> list[subprocess.Popen[str]]:
    """Starts `n` workers, waits until each is ready, then tells them all the same start time
    (interpreter start-up takes seconds on a loaded machine and must not eat the run)."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "worker",
        "--db-url",
        db_url,
        "--base-url",
        base_url,
        "--account",
        account,
        "--key",
        key,
        "--seconds",
        str(seconds),
        "--threads",
        str(threads),
    ]
    procs = [
        subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(n)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    start_at = time.time() + 0.2
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start_at}\n")
        proc.stdin.flush()
    return procs


def collect(procs: list[subprocess.Popen[str]], timeout: float) -> Counter[str]:
    total: Counter[str] = Counter()
    for proc in procs:
        out, _ = proc.communicate(timeout=timeout)  # also closes stdin
        if proc.returncode != 0:
            raise RuntimeError(f"quota worker failed with exit code {proc.returncode}")
        total.update(json.loads(out.strip().splitlines()[-1]))
    return total


def max_in_window(times: list[float], width: float) -> int:
    """Most events in any window [t, t + width)."""
    times, best, j = sorted(times), 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


def max_overlap(entries: list[dict[str, Any]]) -> int:
    """Most requests in flight at once (each log entry: end time and duration in ms)."""
    edges = [(e["time"] - e["ms"] / 1000, 1) for e in entries] + [(e["time"], -1) for e in entries]
    level = best = 0
    for _, step in sorted(edges):
        level += step
        best = max(best, level)
    return best


def analyze(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures from the emulator's request log of the realm."""
    served = [e for e in entries if e["status"] == 200]
    times = [e["time"] for e in served]
    per_minute = max_in_window(times, 60.0)
    return {
        "requests": len(entries),
        "served": len(served),
        "throttled_429": sum(1 for e in entries if e["status"] == 429),
        "max_in_any_60s": per_minute,
        "share_of_minute_quota": per_minute / 500,
        "max_in_any_1s": max_in_window(times, 1.0),
        "max_in_flight": max_overlap(served),
    }


def register(db: Any, key: str, sb: Any, latency_ms: float) -> tuple[str, str]:
    """A realm with QBO's real quota, and an account connected to it."""
    from sequence_qbo.qbo_store import store_connection

    realm_id = sb.create_realm("US")
    sb.set_quotas(realm_id, **LIMITS)
    sb.set_faults(realm_latency_ms={realm_id: latency_ms})
    minted = sb.token(realm_id)
    account = f"acc_quota_{uuid.uuid4().hex[:6]}"
    store_connection(
        db,
        key,
        account,
        realm_id,
        minted["access_token"],
        minted["refresh_token"],
        dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return realm_id, account


def bench(args: argparse.Namespace) -> None:
    import psycopg
    from cryptography.fernet import Fernet

    from sandbox.testing import running_sandbox
    from store.db import Database
    from store.migrate import migrate

    admin_url = os.environ.get(
        "SEQUENCE_QBO_DATABASE_URL",
        "postgresql://sequence_qbo:sequence_qbo@127.0.0.1:55432/postgres",
    )
    name = f"sqbo_bench_{uuid.uuid4().hex[:8]}"
    db_url = admin_url.rsplit("/", 1)[0] + "/" + name
    key = Fernet.generate_key().decode()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        migrate(db_url)
        with running_sandbox() as sb, Database(db_url) as db:
            realm_id, account = register(db, key, sb, args.latency_ms)
            procs = spawn(
                args.processes,
                db_url=db_url,
                base_url=sb.base_url,
                account=account,
                key=key,
                seconds=args.seconds,
                threads=args.threads,
            )
            outcomes = collect(procs, args.seconds + 60)
            figures = analyze(sb.requests(realm=realm_id))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')
    print(
        f"{args.processes} processes x {args.threads} threads, {args.seconds:.0f} s, "
        f"emulator latency {args.latency_ms:.0f} ms, realm quota 500/min, 10/s, 10 at once"
    )
    print(f"client outcomes: {dict(outcomes)}")
    for k, v in figures.items():
        print(f"  {k:<24} {v:.1%}" if isinstance(v, float) else f"  {k:<24} {v}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode")
    w = sub.add_parser("worker")
    for flag in ("--db-url", "--base-url", "--account", "--key"):
        w.add_argument(flag, required=True)
    w.add_argument("--seconds", type=float, required=True)
    w.add_argument("--threads", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=66.0)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--latency-ms", type=float, default=600.0)
    args = parser.parse_args()
    if args.mode == "worker":
        worker(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
