"""Throughput of the concurrent runtime against partition-ordered parallelism, same run.

A handler that takes 100 ms (a QBO call), 1,000 keys spread over 100 accounts, on the real
broker (`make infra-up`; SEQUENCE_QBO_KAFKA_BOOTSTRAP like the service). The comparison is the
usual "parallel" Kafka consumer: one worker per partition, each handling its partition in offset
order (6 partitions, 6 workers), not a one-thread loop (whose ratio would only be our thread
count). The concurrent runtime orders per key instead of per partition, so its parallelism is
bounded by its threads and the per-account limit, not by the partition count. Each figure is
messages per second between the first and the last handled message (group joins are not
counted). Usage: python bench/runtime_throughput.py [--messages 6000] [--threads 128]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from consumers.runtime import kafka
from consumers.runtime.concurrent import ConcurrentRuntime, RuntimeOptions
from consumers.runtime.engine import EngineOptions
from consumers.runtime.types import Done, Event, Outcome
from publishing import KafkaPublisher
from sequence_qbo.settings import Settings
from sequence_qbo.topics import ensure_topics

KEYS, ACCOUNTS, LATENCY, PARTITIONS = 1000, 100, 0.1, 6


class SlowHandler:
    event = "bench.event"

    def handle(self, event: Event) -> Outcome:
        time.sleep(LATENCY)
        return Done("updated")


class JsonDecoder:
    def decode(self, event: str, data: bytes | None) -> dict[str, Any]:
        return dict(json.loads(data or b"{}"))


def produce(bootstrap: str, topic: str, n: int) -> None:
    producer = kafka.producer(bootstrap)
    for i in range(n):
        k = i % KEYS
        value = {"id": i, "account_id": f"acct_{k % ACCOUNTS}", "key": k}
        producer.produce(topic, key=f"k{k}", value=json.dumps(value).encode())
        if i % 10000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


def measure(runtime: Any, n: int, timeout: float) -> float:
    """Messages per second from the first handled message to the n-th."""
    stop = threading.Event()
    worker = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    worker.start()
    try:
        _wait(lambda: runtime.processed >= 1, timeout)
        started, first = time.monotonic(), runtime.processed
        _wait(lambda: runtime.processed >= n, timeout)
        return (runtime.processed - first) / (time.monotonic() - started)
    finally:
        stop.set()
        worker.join(60)


class PartitionOrdered:
    """One worker per partition, each handling its partition's messages in offset order."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.processed = 0
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        workers = [
            threading.Thread(target=self._worker, args=(p, stop), daemon=True)
            for p in range(PARTITIONS)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def _worker(self, partition: int, stop: threading.Event) -> None:
        consumer = kafka.consumer(self.bootstrap, f"{self.group}-{partition}")
        consumer.assign([TopicPartition(self.topic, partition, OFFSET_BEGINNING)])
        handler, decoder = SlowHandler(), JsonDecoder()
        try:
            while not stop.is_set():
                msg = consumer.poll(0.1)
                if msg is None or msg.error():
                    continue
                message = kafka.to_message(msg)
                handler.handle(Event(message, decoder.decode(handler.event, message.value)))
                with self._lock:
                    self.processed += 1
        finally:
            consumer.close()


def _wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("benchmark timed out")
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", default=Settings().kafka_bootstrap)
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--partition-messages", type=int, default=600)
    parser.add_argument("--threads", type=int, default=128)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    topic, dlq = f"bench-{run}.events", f"bench-{run}.dlq"
    ensure_topics(args.bootstrap, [topic, dlq], partitions=PARTITIONS)
    produce(args.bootstrap, topic, args.messages)

    def common(group: str) -> dict[str, Any]:
        return {
            "consumer": kafka.consumer(args.bootstrap, f"bench-{run}-{group}"),
            "dead_letters": KafkaPublisher(args.bootstrap),
            "serde": JsonDecoder(),
            "handlers": {topic: SlowHandler()},
            "dlq_topic": dlq,
        }

    ordered = PartitionOrdered(args.bootstrap, topic, f"bench-{run}-ordered")
    base = measure(ordered, args.partition_messages, 120)
    options = RuntimeOptions(engine=EngineOptions(max_in_flight=args.threads, group_limit=10))
    conc = measure(ConcurrentRuntime(**common("conc"), options=options), args.messages, 120)
    print(
        f"handler {LATENCY * 1000:.0f} ms, {KEYS} keys, {ACCOUNTS} accounts (≤10 in flight "
        f"each), {args.threads} threads"
    )
    print(
        f"partition-ordered ({PARTITIONS} workers): {base:8.1f} msg/s  "
        f"({args.partition_messages} msgs)"
    )
    print(f"concurrent (ConcurrentRuntime):   {conc:8.1f} msg/s  ({args.messages} msgs)")
    print(
        f"ratio: {conc / base:.1f}x (the partition count bounds the one, threads and the "
        "per-account limit the other)"
    )


if __name__ == "__main__":
    main()
