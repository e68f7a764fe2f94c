"""librdkafka's read-ahead is bounded (consumers/runtime/kafka.py PREFETCH): a consumer behind a
backlog holds a MB or two of it in the process, not the whole backlog (librdkafka's defaults:
up to 64 MB). Measured with librdkafka's own statistics: per partition, how far the fetcher has
read past what the application consumed."""

from __future__ import annotations

import json
import uuid
from typing import Any

from consumers.runtime import kafka
from sequence_qbo.settings import Topics
from tests.helpers import wait_until

BACKLOG = 24_000  # records of 1 KB: 24 MB, ten times the bound


def test_a_consumer_behind_a_backlog_reads_only_a_few_mb_ahead(
    kafka_bootstrap: str, topics: Topics
) -> None:
    topic = topics.customer_updated
    _produce(kafka_bootstrap, topic, BACKLOG)
    reports: list[dict[str, Any]] = []
    stats: dict[str, Any] = {
        "statistics.interval.ms": 100,
        "stats_cb": lambda s: reports.append(json.loads(s)),
    }
    consumer = kafka.consumer(kafka_bootstrap, f"prefetch-{uuid.uuid4().hex[:8]}", **stats)
    consumer.subscribe([topic])
    try:

        def fetcher_idle() -> bool:
            # One message per call: the statistics are served by consume; the queue barely moves.
            consumer.consume(1, timeout=0.1)
            last = [_fetched(r, topic) for r in reports[-5:]]
            return len(last) == 5 and last[0] > 0 and len(set(last)) == 1

        wait_until(fetcher_idle, timeout=60, message="the fetcher to stop reading ahead")
        ahead = _read_ahead(reports[-1], topic)
    finally:
        consumer.close()
    # 1,000 records or 1 MB, overshot by at most one fetch response (1 MB): ~2,000 records of 1 KB
    assert 0 < ahead <= 2_500, f"{ahead} records read ahead"


def _produce(bootstrap: str, topic: str, n: int) -> None:
    producer = kafka.producer(bootstrap)
    for i in range(n):
        producer.produce(topic, key=str(i).encode(), value=b"x" * 1000)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


def _partitions(report: dict[str, Any], topic: str) -> list[dict[str, Any]]:
    parts = report.get("topics", {}).get(topic, {}).get("partitions", {})
    return [p for key, p in parts.items() if key != "-1"]  # -1: librdkafka's unassigned queue


def _fetched(report: dict[str, Any], topic: str) -> int:
    """The fetch positions summed: how far the fetcher has read."""
    return sum(max(0, p["next_offset"]) for p in _partitions(report, topic))


def _read_ahead(report: dict[str, Any], topic: str) -> int:
    """Records fetched and not yet consumed (a fresh topic starts at offset 0; the partitions'
    own fetchq_cnt would not do: each reports the consumer's whole queue, where they all go)."""
    parts = _partitions(report, topic)
    return sum(max(0, p["next_offset"]) - max(0, p["app_offset"]) for p in parts)
