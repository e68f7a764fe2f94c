"""Creating the service's topics (idempotent)."""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec


def ensure_topics(
    bootstrap: str, names: list[str], partitions: int, timeout: float = 30.0
) -> dict[str, str]:
    """Creates missing topics; returns {topic: "created" | "exists"} once every partition of
    the created ones is served."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    result: dict[str, str] = {}
    for name, future in futures.items():
        try:
            future.result(timeout)
            result[name] = "created"
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            result[name] = "exists"
    created = [name for name, state in result.items() if state == "created"]
    _wait_until_served(admin, created, partitions, time.monotonic() + timeout)
    return result


def _wait_until_served(
    admin: AdminClient, names: list[str], partitions: int, deadline: float
) -> None:
    """Returns once every partition of `names` answers a read of its offsets: a broker answers
    a topic's creation, and even lists the new partitions' leaders, before it serves them, and
    a read in between is refused (NOT_LEADER_FOR_PARTITION). Raises TimeoutError past
    `deadline`."""
    waiting = [TopicPartition(name, p) for name in names for p in range(partitions)]
    while waiting:
        timeout = max(0.5, deadline - time.monotonic())
        asked = admin.list_offsets(
            {tp: OffsetSpec.latest() for tp in waiting}, request_timeout=timeout
        )
        refused = []
        for tp, future in asked.items():
            try:
                future.result(timeout)
            except KafkaException:
                refused.append(tp)
        waiting = refused
        if waiting and time.monotonic() >= deadline:
            shown = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in waiting[:5])
            raise TimeoutError(f"partitions not served yet: {shown}")
        if waiting:
            time.sleep(0.1)
