"""`sequence-qbo run`: the consumers, and the reconciliation loops (outbox relay, CDC poller).

It keeps going through outages of its dependencies: QBO, the Schema Registry or PostgreSQL being
down is a Retry that holds back only the affected realm or key, and the reconciliation loops
retry each pass. It exits non-zero, for a supervisor to restart it, only when something cannot
be waited out: the engine failed on a message, librdkafka reported a fatal error (another process
took this one's --instance-id), or a reconciliation loop ended on its own.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading
from collections.abc import Sequence

from confluent_kafka import KafkaException

from consumers.runtime.concurrent import RuntimeOptions
from consumers.runtime.engine import EngineFailed, EngineOptions
from consumers.runtime.metrics import RuntimeMetrics
from sequence_qbo import logs, probes, wiring
from sequence_qbo.commands import _common
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
        help="do not serve Prometheus metrics and the /healthz and /readyz probes (default: "
        "on SEQUENCE_QBO_METRICS_PORT)",
    )
    run.add_argument(
        "--text-logs", action="store_true", help="human-readable logs instead of JSON lines"
    )
    run.add_argument(
        "--threads",
        type=int,
        default=128,
        help="handler calls in flight in this process (default 128: a realm with a backlog "
        "holds up to --group-limit of them while its batches wait for QBO's batch quota, and "
        "the other realms keep the rest)",
    )
    run.add_argument(
        "--group-limit",
        type=int,
        default=60,
        help="handler calls in flight per account/realm (default 60: a realm's creates leave "
        "in /batch requests of 30, one at a time per process, so a backlog fills the next "
        "batch while one waits for QBO's batch quota; QBO's 10 concurrent requests per realm "
        "are held by the shared quota whatever this is)",
    )
    run.add_argument(
        "--instance-id",
        help="this process's static group membership id, stable across its restarts and unique "
        "in the consumer group (default: SEQUENCE_QBO_INSTANCE_ID, else the host name); a "
        "restarted process gets its partitions back at once instead of after 45 s",
    )
    run.set_defaults(func=_run)


def _check_topics(asked: Sequence[str], known: Sequence[str]) -> None:
    """--only names input topics; said before any other problem is found (none concerns it)."""
    unknown = sorted(set(asked) - set(known))
    if unknown:
        raise CliError(
            f"not an input topic: {', '.join(unknown)} (input topics: {', '.join(sorted(known))})"
        )


def instance_id(args: argparse.Namespace, settings: Settings) -> str:
    """--instance-id, else the setting, else the host name (one `run` per host; a second one on
    the same host needs an id of its own, or the two fence each other)."""
    return str(args.instance_id or settings.instance_id or socket.gethostname())


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
    settings = settings.model_copy(update={"instance_id": instance_id(args, settings)})
    _check_topics(args.only or [], _common.input_topics(settings))
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
            # /metrics with /healthz and /readyz beside it, for the orchestrator's probes.
            probes.serve(settings.metrics_port, metrics.registry, probes.checks(settings, app.db))
        options = RuntimeOptions(
            engine=EngineOptions(max_in_flight=args.threads, group_limit=args.group_limit)
        )
        runtime = app.runtime(handlers, metrics, options=options)
        log.info(
            "consuming %s as %s (metrics on :%s)",
            ", ".join(sorted(handlers)),
            settings.instance_id,
            "off" if args.no_metrics else settings.metrics_port,
        )
        stop = stop_on_signals()
        # The reconciliation loops go with the process that reconciles (`--only` may leave it out).
        loops = app.reconcile_loops() if settings.topics.qbo_changes in handlers else ()
        ended: list[str] = []
        threads = start_loops(loops, stop, ended)
        try:
            runtime.run(stop)
        except (EngineFailed, KafkaException):
            # Loud, and for a supervisor: a restart reads the unfinished message again.
            log.critical("stopping: the consumer cannot go on", exc_info=True)
            return 1
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
    if ended:
        log.critical("stopped because %s ended unexpectedly", ", ".join(ended))
        return 1
    return 0


def start_loops(
    loops: Sequence[wiring.Loop], stop: threading.Event, ended: list[str] | None = None
) -> list[threading.Thread]:
    """Each loop in its own thread; they stop when `stop` is set. A loop that ends before
    that (it raised: its passes catch what they can wait out) is named in `ended` and stops the
    process, rather than leaving it running without its relay or poller."""
    threads = [
        threading.Thread(
            target=_guarded,
            args=(loop, stop, ended if ended is not None else []),
            name=loop.name,
            daemon=True,
        )
        for loop in loops
    ]
    for thread in threads:
        thread.start()
        log.info("started %s", thread.name)
    return threads


def _guarded(loop: wiring.Loop, stop: threading.Event, ended: list[str]) -> None:
    try:
        loop.run(stop)
    except Exception:
        log.critical("%s failed", loop.name, exc_info=True)
    if not stop.is_set():
        ended.append(loop.name)
        stop.set()
