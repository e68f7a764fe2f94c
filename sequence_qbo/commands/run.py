"""`sequence-qbo run`: the consumers."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from consumers.runtime.metrics import RuntimeMetrics
from sequence_qbo import logs, wiring
from sequence_qbo.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the consumers until SIGTERM/SIGINT")
    run.add_argument("--only", nargs="+", metavar="TOPIC",
                     help="consume only these input topics (default: all)")
    run.add_argument("--no-metrics", action="store_true",
                     help="do not serve Prometheus metrics (default: on SEQUENCE_QBO_METRICS_PORT)")
    run.add_argument("--text-logs", action="store_true",
                     help="human-readable logs instead of JSON lines")
    run.set_defaults(func=_run)


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from sequence_qbo.cli import CliError

    if not args.text_logs:
        logs.use_json(logging.getLogger().level)
    db = wiring.database(settings).open()
    try:
        handlers = wiring.handlers(settings, db)
        if args.only:
            unknown = sorted(set(args.only) - set(handlers))
            if unknown:
                raise CliError(f"not an input topic: {', '.join(unknown)} "
                               f"(input topics: {', '.join(sorted(handlers))})")
            handlers = {t: h for t, h in handlers.items() if t in args.only}
        metrics = RuntimeMetrics()
        if not args.no_metrics:
            metrics.serve(settings.metrics_port)
        runtime = wiring.runtime(settings, handlers, metrics)
        log.info("consuming %s (metrics on :%s)", ", ".join(sorted(handlers)),
                 "off" if args.no_metrics else settings.metrics_port)
        runtime.run(stop_on_signals())
    finally:
        db.close()
    return 0
