"""`sequence-qbo run`: the consumers, and the reconciliation loops (outbox relay, CDC poller)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Sequence

from consumers.runtime.concurrent import RuntimeOptions
from consumers.runtime.engine import EngineOptions
from consumers.runtime.metrics import RuntimeMetrics
from sequence_qbo import logs, wiring
from sequence_qbo.errors import CliError
from sequence_qbo.settings import Settings

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run the consumers until SIGTERM/SIGINT")
    run.add_argument(
        "--only", nargs="+", metavar="TOPIC", help="consume only these input topics (default: all)"
    )
    run.add_argument(
        "--no-metrics",
        action="store_true",
        help="do not serve Prometheus metrics (default: on SEQUENCE_QBO_METRICS_PORT)",
    )
    run.add_argument(
        "--text-logs", action="store_true", help="human-readable logs instead of JSON lines"
    )
    run.add_argument(
        "--threads",
        type=int,
        default=64,
        help="handler calls in flight in this process (default 64)",
    )
    run.add_argument(
        "--group-limit",
        type=int,
        default=10,
        help="handler calls in flight per account/realm (default 10, QBO's limit)",
    )
    run.set_defaults(func=_run)


def stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.threads < 1 or args.group_limit < 1:
        raise CliError("--threads and --group-limit must be at least 1")
    if not args.text_logs:
        logs.use_json(logging.getLogger().level)
    with wiring.Application(settings) as app:
        handlers = app.handlers()
        if args.only:
            unknown = sorted(set(args.only) - set(handlers))
            if unknown:
                raise CliError(
                    f"not an input topic: {', '.join(unknown)} "
                    f"(input topics: {', '.join(sorted(handlers))})"
                )
            handlers = {t: h for t, h in handlers.items() if t in args.only}
        metrics = RuntimeMetrics()
        if not args.no_metrics:
            metrics.serve(settings.metrics_port)
        options = RuntimeOptions(
            engine=EngineOptions(max_in_flight=args.threads, group_limit=args.group_limit)
        )
        runtime = app.runtime(handlers, metrics, options=options)
        log.info(
            "consuming %s (metrics on :%s)",
            ", ".join(sorted(handlers)),
            "off" if args.no_metrics else settings.metrics_port,
        )
        stop = stop_on_signals()
        # The reconciliation loops go with the process that reconciles (`--only` may leave it out).
        loops = app.reconcile_loops() if settings.topics.qbo_changes in handlers else ()
        threads = start_loops(loops, stop)
        try:
            runtime.run(stop)
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
    return 0


def start_loops(loops: Sequence[wiring.Loop], stop: threading.Event) -> list[threading.Thread]:
    """Each loop in its own thread; they stop when `stop` is set."""
    threads = [
        threading.Thread(target=loop.run, args=(stop,), name=loop.name, daemon=True)
        for loop in loops
    ]
    for thread in threads:
        thread.start()
        log.info("started %s", thread.name)
    return threads
