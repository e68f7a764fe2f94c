"""`sequence-qbo demo`: sample events through Kafka into the service, and what it did with them.

Expects the infrastructure to be up (`make demo` starts it)."""

from __future__ import annotations

import argparse
import threading
import time

from rich.console import Console

from consumers.runtime import kafka
from sequence_qbo import samples, wiring
from sequence_qbo.commands import customers as customers_cmd
from sequence_qbo.settings import Settings
from sequence_qbo.topics import ensure_topics
from store import customers
from store.migrate import migrate


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="produce sample events and show what the service did")
    demo.add_argument("--timeout", type=float, default=60.0,
                      help="seconds to wait for the events to be processed")
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from sequence_qbo.cli import CliError

    console = Console()
    migrate(settings.database_url.get_secret_value())
    ensure_topics(settings.kafka_bootstrap, settings.topics.all(), settings.topic_partitions)
    serde = wiring.serde(settings)
    producer = kafka.producer(settings.kafka_bootstrap)
    topic = settings.topics.customer_updated
    events = samples.customer_updated_events()
    for key, value in events:
        producer.produce(topic, key=key, value=serde.encode("customer.updated", topic, value))
    if producer.flush(30):
        raise CliError("Kafka did not acknowledge the sample events")
    console.print(f"produced {len(events)} customer.updated events to {topic}")

    with wiring.database(settings) as db:
        stop = threading.Event()
        runtime = wiring.runtime(settings, wiring.handlers(settings, db))
        worker = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
        worker.start()
        try:
            _wait_for_snapshots(db, events, args.timeout)
        finally:
            stop.set()
            worker.join(30)
    return customers_cmd._list(argparse.Namespace(account=samples.DEMO_ACCOUNT, limit=100),
                               settings)


def _wait_for_snapshots(db: wiring.Database, events: list, timeout: float) -> None:
    from sequence_qbo.cli import CliError

    deadline = time.monotonic() + timeout
    wanted = {(v["account_id"], k): v["customer"]["legal_name"] for k, v in events}
    while time.monotonic() < deadline:
        stored = {(r["account_id"], r["customer_id"]): r["snapshot"]["legal_name"]
                  for r in customers.list_snapshots(db, samples.DEMO_ACCOUNT, 1000)}
        if all(stored.get(k) == name for k, name in wanted.items()):
            return
        time.sleep(0.2)
    raise CliError(f"the consumers did not store the sample customers within {timeout:.0f}s")
