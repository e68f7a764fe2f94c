"""Decoding speed: our cached-schema fast path against confluent-kafka's AvroDeserializer,
measured in the same run on the same records (an in-process mock registry, so no network).

    .venv/bin/python bench/serde.py [N]
"""

from __future__ import annotations

import sys
import time

from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas import loader, serde
from sequence_qbo import samples


def _records(n: int) -> list[dict]:
    out = []
    for i in range(n):
        event = samples.numbered_customer_event("acct_bench", i)
        event["event_id"] = str(event["event_id"])
        out.append(event)
    return out


def _rate(label: str, fn, payloads: list[bytes]) -> float:
    start = time.perf_counter()
    for p in payloads:
        fn(p)
    rate = len(payloads) / (time.perf_counter() - start)
    print(f"  {label:<38} {rate:>10,.0f} records/s")
    return rate


def main(n: int = 50_000) -> None:
    client = SchemaRegistryClient.new_client({"url": "mock://bench"})
    ctx = SerializationContext("customer.updated", MessageField.VALUE)
    ser = AvroSerializer(
        client,
        loader.schema_text("customer.updated"),
        conf={"subject.name.strategy": topic_subject_name_strategy},
    )
    payloads = [ser(r, ctx) for r in _records(n)]
    theirs = AvroDeserializer(client)
    ours = serde.Serde(serde.RegistryResolver("unused", client=client))
    print(f"decoding {n:,} customer.updated records (median of 3 runs each)")
    base = sorted(
        _rate("confluent AvroDeserializer (baseline)", lambda p: theirs(p, ctx), payloads)
        for _ in range(3)
    )[1]
    fast = sorted(
        _rate("sequence-qbo Serde.decode", lambda p: ours.decode("customer.updated", p), payloads)
        for _ in range(3)
    )[1]
    print(f"ratio: {fast / base:.2f}x the baseline")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
