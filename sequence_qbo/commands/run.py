"""`sequence-qbo run`: the consumers."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from sequence_qbo import wiring
from sequence_qbo.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the consumers until SIGTERM/SIGINT")
    run.add_argument("--only", nargs="+", metavar="TOPIC",
                     help="consume only these input topics (default: all)")
    run.set_defaults(func=_run)


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from sequence_qbo.cli import CliError

    db = wiring.database(settings).open()
    try:
        handlers = wiring.handlers(settings, db)
        if args.only:
            unknown = sorted(set(args.only) - set(handlers))
            if unknown:
                raise CliError(f"not an input topic: {', '.join(unknown)} "
                               f"(input topics: {', '.join(sorted(handlers))})")
            handlers = {t: h for t, h in handlers.items() if t in args.only}
        runtime = wiring.runtime(settings, handlers)
        log.info("consuming %s", ", ".join(sorted(handlers)))
        runtime.run(stop_on_signals())
    finally:
        db.close()
    return 0
