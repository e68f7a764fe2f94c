"""`python -m sandbox --port 8600`."""

from __future__ import annotations

import argparse

from sandbox.config import SandboxConfig
from sandbox.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8600)
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    config = SandboxConfig(
        client_id=args.client_id,
        client_secret=args.client_secret,
        default_latency_ms=args.latency_ms,
        log_level=args.log_level,
    )
    serve(args.host, args.port, config)


if __name__ == "__main__":
    main()
