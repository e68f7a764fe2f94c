"""The engine: runs polled messages through their handlers on a thread pool, one at a time per
key, within each concurrency group's bound, with retries and dead-lettering.

It knows nothing of consumer groups or commits: the caller (the concurrent runtime, or a replay)
feeds messages with `submit` and reads the partition trackers to know what may be committed.
A message counts as complete in its tracker only once its effect is durable: the handler returned
Done or Failed, or the dead-letter copy was acknowledged by the broker.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from confluent_kafka import Producer

from consumers.runtime import decoding, dlq, kafka, retry
from consumers.runtime.metrics import RuntimeMetrics
from consumers.runtime.offsets import PartitionOffsets
from consumers.runtime.scheduler import KeyScheduler
from consumers.runtime.types import (
    Decoder,
    Event,
    Handler,
    Message,
    Outcome,
    Poison,
    Retry,
)

log = logging.getLogger(__name__)

OutcomeHook = Callable[[Message, Outcome], None]


@dataclass(frozen=True)
class EngineOptions:
    max_in_flight: int = 64  # threads: handlers are sync and mostly wait on I/O
    group_limit: int = 10  # QBO allows 10 concurrent requests per realm
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 60.0
    dead_letter: bool = True  # a replay counts poison as failed instead (it is in the DLQ already)


@dataclass(eq=False)
class Work:
    message: Message
    handler: Handler
    tracker: PartitionOffsets
    key: Hashable
    event: Event | None = None
    early: Outcome | None = None  # poison found while decoding: no handler call
    attempts: int = 0
    first_failure: dt.datetime | None = None
    log_fields: dict[str, str] = field(default_factory=dict)


class Engine:
    def __init__(
        self,
        *,
        decoder: Decoder,
        handlers: Mapping[str, Handler],
        producer: Producer,
        dlq_topic: str,
        options: EngineOptions | None = None,
        metrics: RuntimeMetrics | None = None,
        on_outcome: OutcomeHook | None = None,
        jitter: Callable[[], float] = retry.jitter,
    ) -> None:
        self.decoder = decoder
        self.handlers = dict(handlers)
        self.producer = producer
        self.dlq_topic = dlq_topic
        self.options = options or EngineOptions()
        self.metrics = metrics or RuntimeMetrics()
        self.on_outcome = on_outcome
        self.jitter = jitter
        self.cond = threading.Condition()  # guards the scheduler, the trackers and the counts
        self.scheduler: KeyScheduler[Work] = KeyScheduler(
            max_in_flight=self.options.max_in_flight, group_limit=self.options.group_limit
        )
        self._running: Counter[PartitionOffsets] = Counter()
        self._pool: ThreadPoolExecutor | None = None
        self.accepting = False

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.options.max_in_flight, thread_name_prefix="handler")
        self.accepting = True

    def drain(self, deadline: float) -> bool:
        """Shutdown: starts nothing more, drops what is queued, waits for the running handlers
        until the monotonic `deadline`. True when they all finished."""
        with self.cond:
            self.accepting = False
            self.scheduler.drop(lambda _key: True)
            while self.scheduler.in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(min(remaining, 0.5))
        return True

    def stop(self) -> None:
        self.accepting = False
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, message: Message, tracker: PartitionOffsets) -> None:
        """A polled message: tracked in its partition, queued behind its key, maybe started."""
        work = self._prepare(message, tracker)
        with self.cond:
            tracker.track(message.offset)
            self.scheduler.add(work.key, self._group(work), work)
        self.dispatch()

    def dispatch(self) -> None:
        """Starts what may start now (due retries included)."""
        with self.cond:
            if not self.accepting:
                return
            ready = self.scheduler.start(time.monotonic())
            for work in ready:
                self._running[work.tracker] += 1
            self.metrics.in_flight.set(self.scheduler.in_flight)
        assert self._pool is not None, "Engine.start() first"
        for work in ready:
            try:
                self._pool.submit(self._run, work)
            except RuntimeError:  # the pool was shut down after a shutdown deadline passed
                return

    def next_due(self) -> float | None:
        with self.cond:
            return self.scheduler.next_due()

    @property
    def buffered(self) -> int:
        return self.scheduler.queued

    def close_partitions(self, trackers: list[PartitionOffsets]) -> int:
        """Stops work of revoked partitions: nothing queued starts and nothing is retried.
        Returns how many queued messages were dropped (they will be redelivered)."""
        with self.cond:
            for tracker in trackers:
                tracker.closed = True
            dropped = self.scheduler.drop(lambda key: key[0].closed)  # type: ignore[index]
            self.cond.notify_all()
        return len(dropped)

    def wait_idle(self, trackers: list[PartitionOffsets], deadline: float) -> bool:
        """Waits until no handler of these partitions runs, or the monotonic `deadline`."""
        with self.cond:
            while any(self._running[t] for t in trackers):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(min(remaining, 0.5))
            return True

    def forget(self, trackers: list[PartitionOffsets]) -> None:
        """Drops the bookkeeping of closed partitions (abandoned work may still finish, unseen)."""
        with self.cond:
            for tracker in trackers:
                self._running.pop(tracker, None)

    # -- work --------------------------------------------------------------------------------

    def _prepare(self, message: Message, tracker: PartitionOffsets) -> Work:
        handler = self.handlers[message.topic]
        # Records without a key have no order to keep: each is its own key.
        key = (tracker, message.key if message.key is not None else message.offset)
        work = Work(message, handler, tracker, key)
        decoded = decoding.decode(self.decoder, work.handler, work.message)
        if isinstance(decoded, Event):
            work.event = decoded
            work.log_fields = decoding.log_fields(decoded)
        elif isinstance(decoded, Poison):
            work.early = decoded
        return work

    def _group(self, work: Work) -> str:
        return decoding.group_of(work.handler, work.event)

    def _run(self, work: Work) -> None:
        try:
            outcome = self._attempt(work)
            self._settle(work, outcome)
        except Exception:  # a bug here must not kill the pool thread silently
            log.exception(
                "runtime error on %s", decoding.where(work.message), extra=work.log_fields
            )
            self._abandon(work)

    def _attempt(self, work: Work) -> Outcome:
        work.attempts += 1
        if work.early is not None:
            return work.early
        if work.event is None:
            decoded = decoding.decode(self.decoder, work.handler, work.message)
            if not isinstance(decoded, Event):
                return decoded
            work.event = decoded
        started = time.monotonic()
        try:
            return work.handler.handle(work.event)
        except Exception as exc:  # a handler bug or an unexpected outage: retry, then DLQ
            log.exception(
                "handler for %s raised", decoding.where(work.message), extra=work.log_fields
            )
            return Retry(f"{type(exc).__name__}: {exc}", after=0.0)
        finally:
            self.metrics.latency.labels(work.message.topic).observe(time.monotonic() - started)

    def _settle(self, work: Work, outcome: Outcome) -> None:
        if isinstance(outcome, Retry):
            work.first_failure = work.first_failure or dt.datetime.now(dt.UTC)
            if self._retry(work, outcome):
                return
            outcome = Poison(
                "RetriesExhausted", f"after {work.attempts} attempts: {outcome.reason}"
            )
        if isinstance(outcome, Poison) and not self._dead_letter(work, outcome):
            return
        self._finish(work, outcome)

    def _retry(self, work: Work, outcome: Retry) -> bool:
        """Schedules the next attempt; False when the attempts are used up."""
        o = self.options
        delay = retry.next_retry(
            work.attempts,
            max_attempts=o.max_attempts,
            base=o.backoff_base,
            cap=o.backoff_cap,
            floor=outcome.after,
            rand=self.jitter(),
        )
        if delay is None:
            return False
        # A Retry with a wait is the other side (QBO's 429) asking the whole realm to slow down.
        self._defer(work, delay, hold=outcome.after)
        self.metrics.retries.labels(work.message.topic).inc()
        log.info(
            "retry %d of %s in %.2fs: %s",
            work.attempts,
            decoding.where(work.message),
            delay,
            outcome.reason,
            extra=work.log_fields,
        )
        return True

    def _defer(self, work: Work, delay: float, hold: float = 0.0) -> None:
        """The key's head runs again after `delay`; later messages of the key wait behind it."""
        now = time.monotonic()
        with self.cond:
            self._leave(work)
            if work.tracker.closed:  # revoked or lost: the next owner will process it
                self.scheduler.finish(work.key)
                return
            self.scheduler.defer(work.key, now + delay)
            if hold > 0:
                self.scheduler.hold_group(self._group(work), now + hold)

    def _dead_letter(self, work: Work, poison: Poison) -> bool:
        """Writes the DLQ copy; False (and tried again later) when the broker did not ack it."""
        m = work.message
        if not self.options.dead_letter:
            return True
        headers = dlq.dlq_headers(
            m,
            error_class=poison.error_class,
            reason=poison.reason,
            attempts=work.attempts,
            first_failure=work.first_failure or dt.datetime.now(dt.UTC),
        )
        try:
            kafka.produce_sync(
                self.producer, self.dlq_topic, key=m.key, value=m.value, headers=headers
            )
        except kafka.DeliveryFailed as exc:
            log.error("cannot dead-letter %s: %s", decoding.where(m), exc, extra=work.log_fields)
            work.early = poison  # next time straight to the DLQ, not the handler
            self._defer(work, retry.backoff(work.attempts, base=1.0, cap=30.0))
            return False
        self.metrics.dead_lettered.labels(m.topic, poison.error_class).inc()
        log.warning(
            "dead-lettered %s: %s: %s",
            decoding.where(m),
            poison.error_class,
            poison.reason,
            extra=work.log_fields,
        )
        return True

    def _finish(self, work: Work, outcome: Outcome) -> None:
        with self.cond:
            self._leave(work)
            self.scheduler.finish(work.key)
            work.tracker.complete(work.message.offset)
            self.cond.notify_all()
        self._count(work.message, outcome)
        self.dispatch()

    def _abandon(self, work: Work) -> None:
        """Gives the message up uncommitted: its partition stops advancing until a restart."""
        with self.cond:
            self._leave(work)
            self.scheduler.finish(work.key)
            self.cond.notify_all()

    def _leave(self, work: Work) -> None:
        self._running[work.tracker] -= 1
        if self._running[work.tracker] <= 0:
            del self._running[work.tracker]  # also for trackers already forgotten
        self.cond.notify_all()

    def _count(self, message: Message, outcome: Outcome) -> None:
        self.metrics.count(message.topic, outcome)
        if self.on_outcome is not None:
            self.on_outcome(message, outcome)
