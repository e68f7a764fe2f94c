"""`sequence-qbo replay`: run a time range of a topic through the handlers again.

Uses a side consumer (its own group; the live group's offsets stay where they are). Handlers are
idempotent, so a replay of events already applied reports them `unchanged`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from consumers.runtime import kafka, replay
from consumers.runtime.engine import Engine, EngineOptions
from consumers.runtime.types import Handler
from sequence_qbo import wiring
from sequence_qbo.commands import _common
from sequence_qbo.commands.run import stop_on_signals
from sequence_qbo.errors import CliError
from sequence_qbo.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser("replay", help="process a time range of a topic again (side consumer)")
    rp.add_argument("--topic", required=True, help="input topic to replay")
    start = rp.add_mutually_exclusive_group(required=True)
    start.add_argument(
        "--from",
        dest="since",
        type=parse_time,
        help="ISO 8601 time (UTC when no zone), e.g. 2026-11-25T09:00",
    )
    start.add_argument(
        "--from-beginning",
        action="store_true",
        help="from the oldest record the topic still holds",
    )
    rp.add_argument(
        "--to",
        dest="until",
        type=parse_time,
        help="ISO 8601 end time, inclusive (default: the end of the topic now)",
    )
    rp.add_argument(
        "--dry-run",
        action="store_true",
        help="decode and count the records without calling the handlers",
    )
    rp.set_defaults(func=_replay)


def parse_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# Every record's timestamp is after this: `--from-beginning` is `--from` it.
BEGINNING = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    known = _common.input_topics(settings)
    if args.topic not in known:
        raise CliError(
            f"not an input topic: {args.topic} (input topics: {', '.join(sorted(known))})"
        )
    if args.from_beginning:
        args.since = BEGINNING
    if args.until and args.until < args.since:
        raise CliError("--to is before --from")
    with wiring.Application(settings) as app:
        handlers = app.handlers()
        if args.topic not in handlers:
            raise CliError(
                f"not an input topic: {args.topic} (input topics: {', '.join(sorted(handlers))})"
            )
        no_commits: dict[str, Any] = {"enable.auto.commit": False}
        consumer = kafka.consumer(
            settings.kafka_bootstrap,
            f"{settings.consumer_group}-replay-{uuid.uuid4().hex[:8]}",
            **no_commits,
        )
        try:
            spans = replay.plan(consumer, args.topic, args.since, args.until)
        except ValueError as exc:
            consumer.close()
            raise CliError(str(exc)) from exc
        counts = _run(args, app, consumer, spans, handlers)
    _summary(args, counts)
    return 0


def _run(
    args: argparse.Namespace,
    app: wiring.Application,
    consumer: Consumer,
    spans: list[replay.Span],
    handlers: Mapping[str, Handler],
) -> dict[str, int]:
    total = sum(s.size for s in spans)
    serde = app.serde
    with Progress(
        TextColumn("[bold]replay {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task(args.topic, total=total)
        job = replay.Replay(
            consumer,
            spans,
            engine=None,
            decoder=serde,
            event=handlers[args.topic].event,
            progress=lambda n: bar.advance(task, n),
        )
        if not args.dry_run:
            job.engine = Engine(
                decoder=serde,
                handlers={args.topic: handlers[args.topic]},
                dead_letters=app.publisher,  # unused: no DLQ
                dlq_topic=app.settings.topics.dlq,
                # A one-shot command ends: transient failures are given up (counted failed)
                # after 8 attempts (~2 min of backoff); the live group consumes them anyway.
                options=EngineOptions(dead_letter=False, give_up_after=8),
                on_outcome=job.on_outcome,
            )
        return dict(job.run(stop_on_signals()))


def _summary(args: argparse.Namespace, counts: dict[str, int]) -> None:
    columns = (
        ["read", "decodable", "undecodable"]
        if args.dry_run
        else ["read", "unchanged", "updated", "failed"]
    )
    columns += sorted(set(counts) - set(columns))  # other labels handlers return
    start = "the beginning" if args.from_beginning else args.since.isoformat()
    window = f"{start} → {args.until.isoformat() if args.until else 'now'}"
    table = Table(
        *columns,
        title=f"replay of {args.topic}, {window}"
        + (" (dry run: no handler called)" if args.dry_run else ""),
    )
    table.add_row(*(str(counts.get(c, 0)) for c in columns))
    console = _common.console()
    console.print(table)
    console.print(", ".join(f"{c} {counts.get(c, 0)}" for c in columns))  # for scripts
