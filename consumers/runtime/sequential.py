"""A one-message-at-a-time consumer loop: the simplest correct runtime.

It is the baseline the concurrent runtime is measured against (bench/), and runs the handlers
with the same contract. Order of steps for every message:
  1. decode; undecodable → dead-letter (acknowledged by the broker) → step 4
  2. handle; Retry (or an exception: a bug) → back off and handle again, without limit (capped
     exponential backoff); only Poison is dead-lettered
  3. the handler's effect is durable when it returns Done or Failed
  4. store the offset (offset + 1); the auto-committer commits stored offsets
So a crash anywhere before 4 replays the message, and handlers are idempotent.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping

from confluent_kafka import Consumer, TopicPartition

from consumers.runtime import dlq, kafka, retry
from consumers.runtime.types import Event, Handler, Message, Outcome, Poison, Retry
from publishing import Publisher, Record
from schemas.serde import RegistryUnavailable, Serde, UndecodableMessage

log = logging.getLogger(__name__)


class SequentialRuntime:
    def __init__(
        self,
        *,
        consumer: Consumer,
        dead_letters: Publisher,
        serde: Serde,
        handlers: Mapping[str, Handler],
        dlq_topic: str,
        backoff_base: float = 0.2,
        backoff_cap: float = 300.0,
    ) -> None:
        self.consumer = consumer
        self.dead_letters = dead_letters
        self.serde = serde
        self.handlers = dict(handlers)
        self.dlq_topic = dlq_topic
        self.backoff = retry.Backoff(base=backoff_base, cap=backoff_cap)
        self.processed = 0

    def run(self, stop: threading.Event) -> None:
        self.consumer.subscribe(list(self.handlers))
        try:
            while not stop.is_set():
                msg = self.consumer.poll(0.2)
                if msg is None:
                    continue
                if msg.error():
                    log.warning("kafka: %s", msg.error())
                    continue
                self.process(kafka.to_message(msg), stop)
        finally:
            self.consumer.close()  # commits stored offsets

    def process(self, message: Message, stop: threading.Event) -> Outcome:
        first_failure: dt.datetime | None = None
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(message)
            if not isinstance(outcome, Retry):
                break
            first_failure = first_failure or dt.datetime.now(dt.UTC)
            wait = self.backoff.delay(attempt, floor=outcome.after, rand=retry.jitter())
            if stop.wait(wait):
                return outcome  # shutting down: not stored, so it is redelivered
        if isinstance(outcome, Poison):
            self._dead_letter(message, outcome, attempt, first_failure)
        self.consumer.store_offsets(
            offsets=[TopicPartition(message.topic, message.partition, message.offset + 1)]
        )
        self.processed += 1
        return outcome

    def _attempt(self, message: Message) -> Outcome:
        handler = self.handlers[message.topic]
        try:
            value = self.serde.decode(handler.event, message.value)
        except UndecodableMessage as exc:
            return Poison(type(exc).__name__, str(exc))
        except RegistryUnavailable as exc:
            return Retry(str(exc), after=1.0)
        try:
            return handler.handle(Event(message, value))
        except Exception as exc:  # a handler bug: retried without limit, never dead-lettered
            log.exception("handler for %s raised; retrying", message.topic)
            return Retry(f"{type(exc).__name__}: {exc}", after=0.0)

    def _dead_letter(
        self, message: Message, poison: Poison, attempts: int, first_failure: dt.datetime | None
    ) -> None:
        copy = dlq.dead_letter_copy(
            message,
            error_class=poison.error_class,
            reason=poison.reason,
            attempts=attempts,
            first_failure=first_failure or dt.datetime.now(dt.UTC),
        )
        # PublishFailed leaves run(): loud, and the offset is not stored (a restart reads it).
        self.dead_letters.publish(
            [Record(self.dlq_topic, copy.key, copy.value, copy.headers)], 30.0
        )
        log.warning(
            "dead-lettered %s[%d]@%d: %s",
            message.topic,
            message.partition,
            message.offset,
            poison.reason,
        )
