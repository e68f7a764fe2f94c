"""`sequence-qbo topics create|list`."""

from __future__ import annotations

import argparse

from confluent_kafka import KafkaException
from rich.console import Console
from rich.table import Table

from sequence_qbo.errors import CliError
from sequence_qbo.settings import Settings
from sequence_qbo.topics import ensure_topics


def register(sub: argparse._SubParsersAction) -> None:
    topics = sub.add_parser("topics", help="Kafka topics of the service")
    cmds = topics.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    c = cmds.add_parser("create", help="create every topic that is missing")
    c.add_argument(
        "--partitions",
        type=int,
        help="partitions per topic (default SEQUENCE_QBO_TOPIC_PARTITIONS)",
    )
    c.set_defaults(func=_create)


def _create(args: argparse.Namespace, settings: Settings) -> int:
    partitions = args.partitions or settings.topic_partitions
    if partitions < 1:
        raise CliError("--partitions must be at least 1")
    try:
        result = ensure_topics(settings.kafka_bootstrap, settings.topics.all(), partitions)
    except (KafkaException, TimeoutError) as exc:
        raise CliError(f"cannot create topics on {settings.kafka_bootstrap}: {exc}") from exc
    table = Table("topic", "state", title=f"topics on {settings.kafka_bootstrap}")
    for name, state in sorted(result.items()):
        table.add_row(name, state)
    Console().print(table)
    return 0
