"""Load the QBO emulator and print requests per second.

Starts `python -m sandbox` in a subprocess (one uvicorn worker: one core), creates a realm with
unlimited quotas, then hammers it with keep-alive clients in separate processes (or `wrk` when
installed). Usage: python bench/sandbox_load.py [--seconds 5] [--clients 4] [--path customer/1]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def admin(base: str, method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + "/_sandbox" + path,
        data=data,
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())


def wait_up(base: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            admin(base, "GET", "/health")
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("sandbox did not start")


def setup(base: str) -> tuple[str, str]:
    realm = admin(base, "POST", "/realms", {"profile": "US"})["realm_id"]
    big = {"per_minute": 10**9, "per_second": 10**9, "concurrent": 10**6, "batch_per_minute": 10**9}
    admin(base, "PUT", f"/realms/{realm}/quotas", big)
    token = admin(base, "POST", f"/realms/{realm}/token", {})["access_token"]
    return realm, token


def client(port: int, path: str, token: str, seconds: float, out: multiprocessing.Queue) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    done, errors, deadline = 0, 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        done += 1
        errors += resp.status != 200
    out.put((done, errors))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server process (Linux /proc), to report req/s per core."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_python_clients(port: int, path: str, token: str, seconds: float, n: int, pid: int) -> None:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=client, args=(port, path, token, seconds, queue))
        for _ in range(n)
    ]
    cpu_before = cpu_seconds(pid)
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    cpu = cpu_seconds(pid) - cpu_before
    total, errors = sum(r[0] for r in results), sum(r[1] for r in results)
    print(f"python clients: {n} processes x keep-alive, {seconds:.0f}s")
    print(f"requests: {total}  non-200: {errors}  throughput: {total / seconds:,.0f} req/s")
    print(
        f"server CPU: {cpu:.2f}s = {cpu / seconds:.0%} of one core; "
        f"{total / cpu:,.0f} requests per server CPU-second"
    )


def run_wrk(base: str, path: str, token: str, seconds: float, n: int) -> None:
    cmd = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(n * 4),
        "-d",
        f"{seconds:.0f}s",
        "-H",
        f"Authorization: Bearer {token}",
        base + path,
    ]
    print(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--path", default="customer/1", help="v3 path after the realm")
    parser.add_argument("--no-wrk", action="store_true")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--log-level", "warning"], cwd=ROOT
    )
    try:
        wait_up(base)
        realm, token = setup(base)
        admin_token = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
        request = urllib.request.Request(
            f"{base}/v3/company/{realm}/customer",
            data=b'{"DisplayName":"Bench"}',
            headers=admin_token,
        )
        urllib.request.urlopen(request, timeout=5).read()
        path = f"/v3/company/{realm}/{args.path}"
        print(f"sandbox on {base}, GET {path}")
        if shutil.which("wrk") and not args.no_wrk:
            run_wrk(base, path, token, args.seconds, args.clients)
        else:
            run_python_clients(port, path, token, args.seconds, args.clients, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
