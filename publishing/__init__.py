"""Producing records to Kafka: one way, used by every layer that publishes.

`Publisher.publish(records, timeout)` returns once the broker acknowledged every record of
*that call*, or raises `PublishFailed`. One producer serves every thread of a process: a
background thread serves the delivery callbacks and each call waits on its own records only (a
shared `producer.flush()` would make one caller wait for everybody else's records).

Records carry bytes: encoding (Avro, the topic's schema) is the caller's business, so this
package depends on nothing else of the service.
"""

from __future__ import annotations

from publishing._kafka import KafkaPublisher, producer
from publishing._types import Header, Publisher, PublishFailed, Record

__all__ = ["Header", "KafkaPublisher", "PublishFailed", "Publisher", "Record", "producer"]
