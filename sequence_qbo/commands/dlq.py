"""`sequence-qbo dlq list|replay`: the dead-letter topic, and putting its records back."""

from __future__ import annotations

import argparse

from rich.table import Table

from consumers.runtime import dlq, kafka
from sequence_qbo.commands import _common
from sequence_qbo.errors import CliError
from sequence_qbo.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("dlq", help="dead-lettered records")
    cmds = group.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    ls = cmds.add_parser("list", help="dead-lettered records, oldest first")
    _selection_args(ls)
    ls.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    _common.json_arg(ls)
    ls.set_defaults(func=_list)
    rp = cmds.add_parser(
        "replay",
        help="re-inject dead-lettered records into their source topics (original key and value)",
    )
    _selection_args(rp)
    rp.add_argument("--all", action="store_true", help="every record of the DLQ")
    rp.add_argument("--dry-run", action="store_true", help="show what would be re-injected")
    rp.set_defaults(func=_replay)


def _selection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", help="only records dead-lettered from this source topic")
    parser.add_argument("--error-class", help="only records with this error class")
    parser.add_argument(
        "--offsets",
        nargs="+",
        metavar="PARTITION:OFFSET",
        default=[],
        help="only these DLQ records (as `dlq list` shows them)",
    )


def _select(args: argparse.Namespace, letters: list[dlq.DeadLetter]) -> list[dlq.DeadLetter]:
    wanted = set(args.offsets)
    return [
        x
        for x in letters
        if (not args.topic or x.source_topic == args.topic)
        and (not args.error_class or x.headers.get(dlq.HEADER_ERROR_CLASS) == args.error_class)
        and (not wanted or x.coordinates in wanted)
    ]


def _read(settings: Settings) -> list[dlq.DeadLetter]:
    try:
        return dlq.read_dead_letters(settings.kafka_bootstrap, settings.topics.dlq)
    except (RuntimeError, TimeoutError) as exc:
        raise CliError(str(exc)) from exc


def _list(args: argparse.Namespace, settings: Settings) -> int:
    letters = _select(args, _read(settings))
    shown = letters[-args.limit :] if args.limit > 0 else letters
    title = f"{len(letters)} dead-lettered record(s) in {settings.topics.dlq}" + (
        f", showing the last {len(shown)}" if len(shown) < len(letters) else ""
    )
    if args.json:
        _common.print_json(_record(x) for x in shown)
        return 0
    _common.console().print(_table(shown, title))
    return 0


def _record(letter: dlq.DeadLetter) -> dict[str, object]:
    """A dead letter for `--json`: its coordinates, source and every reason header."""
    h = letter.headers
    return {
        "dlq": letter.coordinates,
        "source_topic": letter.source_topic,
        "source_partition": h.get(dlq.HEADER_SOURCE_PARTITION),
        "source_offset": h.get(dlq.HEADER_SOURCE_OFFSET),
        "key": letter.key.decode("utf-8", "replace") if letter.key is not None else None,
        "error_class": h.get(dlq.HEADER_ERROR_CLASS),
        "reason": h.get(dlq.HEADER_REASON),
        "attempts": h.get(dlq.HEADER_ATTEMPTS),
        "first_failure": h.get(dlq.HEADER_FIRST_FAILURE),
    }


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    if not (args.all or args.topic or args.offsets or args.error_class):
        raise CliError("say what to replay: --topic, --error-class, --offsets or --all")
    letters = _select(args, _read(settings))
    verb = "would re-inject" if args.dry_run else "re-injected"
    if letters and not args.dry_run:
        try:
            dlq.reinject(kafka.producer(settings.kafka_bootstrap), letters)
        except RuntimeError as exc:
            raise CliError(str(exc)) from exc
    _common.console().print(
        _table(letters, f"{verb} {len(letters)} record(s) into their source topics")
    )
    return 0


def _table(letters: list[dlq.DeadLetter], title: str) -> Table:
    table = Table(title=title)
    for column in ("dlq", "source", "key", "error class", "reason", "attempts", "first failure"):
        table.add_column(column, overflow="fold")
    for x in letters:
        h = x.headers
        source = (
            f"{x.source_topic}[{h.get(dlq.HEADER_SOURCE_PARTITION, '?')}]"
            f"@{h.get(dlq.HEADER_SOURCE_OFFSET, '?')}"
        )
        key = x.key.decode("utf-8", "replace") if x.key is not None else ""
        table.add_row(
            x.coordinates,
            source,
            key,
            h.get(dlq.HEADER_ERROR_CLASS, ""),
            h.get(dlq.HEADER_REASON, "")[:120],
            h.get(dlq.HEADER_ATTEMPTS, ""),
            h.get(dlq.HEADER_FIRST_FAILURE, ""),
        )
    return table
