"""`sequence-qbo sandbox`: the local QuickBooks Online emulator."""

from __future__ import annotations

import argparse

from sequence_qbo.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    sb = sub.add_parser("sandbox", help="run the QBO emulator (a real HTTP server)")
    sb.add_argument("--host", default="127.0.0.1")
    sb.add_argument("--port", type=int, default=8600)
    sb.set_defaults(func=_serve)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.config import SandboxConfig
    from sandbox.server import serve

    serve(args.host, args.port, SandboxConfig())
    return 0
