"""The engine: runs polled messages through their handlers on a thread pool, one at a time per
key, within each concurrency group's bound, with retries and dead-lettering.

Fairness: the concurrency groups (accounts, hence QBO realms) with work are served round-robin,
one QBO request's worth per group per turn (one message, or up to `batch_turn` creates of a
handler whose creates share /batch requests), the turn carried over from one dispatch to the
next (consumers/runtime/scheduler.py). A realm with 5,000 queued invoices gets a turn like a
realm with one; the quiet realm's invoice starts on the next free thread instead of behind the
backlog, and no realm has more than its `group_limit` in flight. One start in `longest_every`
goes to the realm holding the most messages, on top of its turns: a month-end burst ends when
its longest backlog does, which QBO's quota for that realm paces, so that realm keeps its quota
busy from the start instead of waiting for one turn in a thousand realms.

It knows nothing of consumer groups or commits: the caller (the concurrent runtime, or a replay)
feeds messages with `submit` and reads the partition trackers to know what may be committed.
A message counts as complete in its tracker only once its effect is durable: the handler returned
Done or Failed, or the dead-letter copy was acknowledged by the broker.

Transient trouble is waited out, never dead-lettered: a Retry (and an exception escaping a
handler, which is a bug: logged at ERROR and counted) is tried again without limit, with capped
exponential backoff and jitter, holding back its key (later events of the key stay behind it) or,
for a Retry of scope "realm", its whole concurrency group; other keys and groups carry on. Only
Poison goes to the DLQ. No message is ever given up silently: a dead-letter write that fails is
retried, a copy too large for the producer is truncated, and an error of the engine itself stops
the run (`fatal`, raised by the caller) rather than leave the message's partition pinned.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException

from consumers.runtime import decoding, dlq, retry
from consumers.runtime.metrics import RuntimeMetrics
from consumers.runtime.offsets import PartitionOffsets
from consumers.runtime.scheduler import KeyScheduler
from consumers.runtime.types import (
    Decoder,
    Event,
    Failed,
    Handler,
    Message,
    Outcome,
    Poison,
    Retry,
)
from publishing import Publisher, PublishFailed, Record

log = logging.getLogger(__name__)

OutcomeHook = Callable[[Message, Outcome], None]

# Errors saying a record is larger than the producer or the broker accepts.
_TOO_LARGE = {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE}
_TOO_LARGE_NAMES = ("MSG_SIZE_TOO_LARGE", "RECORD_LIST_TOO_LARGE")
DLQ_TIMEOUT = 30.0  # seconds for the broker to acknowledge a dead-letter copy


class EngineFailed(Exception):
    """The engine itself failed on a message (a bug): the run must stop, not skip it."""


@dataclass(frozen=True)
class EngineOptions:
    max_in_flight: int = 64  # threads: handlers are sync and mostly wait on I/O
    group_limit: int = 10  # QBO allows 10 concurrent requests per realm
    # Messages of a handler that `batches` a group's turn may start together: QBO's /batch
    # takes 30 operations (sync/batching.py), and the turn is one request's worth.
    batch_turn: int = 30
    # One start in this many goes to the realm holding the most messages, on top of its turns:
    # the longest backlog sets a month-end drain's end, so it keeps its QBO quota busy. One in
    # 4 fed it ≈740 invoices a minute at the 1,000-realm month-end (bench/month_end.py), under
    # the 1,200 its quota takes; one in 2 feeds it past that, and its `group_limit` hands the
    # surplus back.
    longest_every: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 300.0  # ≈5 min between probes of a long outage
    dead_letter: bool = True  # a replay counts poison as failed instead (it is in the DLQ already)
    # Only for a replay (which does not dead-letter): a one-shot command must end, so after this
    # many attempts a transient failure is counted as failed ("retries_exhausted"); the live
    # group consumes those records anyway. The live run retries without limit (None).
    give_up_after: int | None = None

    def __post_init__(self) -> None:
        if self.dead_letter and self.give_up_after is not None:
            raise ValueError("a run that dead-letters retries transient failures without limit")


@dataclass(eq=False)
class Work:
    message: Message
    handler: Handler
    tracker: PartitionOffsets
    key: Hashable
    event: Event | None = None
    group: str = ""  # its concurrency group (an account), known from its first decoding
    early: Outcome | None = None  # poison found while decoding: no handler call
    attempts: int = 0
    dlq_writes: int = 0  # failed attempts at writing the dead-letter copy
    running: bool = False  # counted in flight (between dispatch and finish/defer)
    first_failure: dt.datetime | None = None
    log_fields: dict[str, str] = field(default_factory=dict)


class Engine:
    def __init__(
        self,
        *,
        decoder: Decoder,
        handlers: Mapping[str, Handler],
        dead_letters: Publisher,
        dlq_topic: str,
        options: EngineOptions | None = None,
        metrics: RuntimeMetrics | None = None,
        on_outcome: OutcomeHook | None = None,
        jitter: Callable[[], float] = retry.jitter,
    ) -> None:
        self.decoder = decoder
        self.handlers = dict(handlers)
        self.dead_letters = dead_letters
        self.dlq_topic = dlq_topic
        self.options = options or EngineOptions()
        self.metrics = metrics or RuntimeMetrics()
        self.on_outcome = on_outcome
        self.jitter = jitter
        self.backoff = retry.Backoff(base=self.options.backoff_base, cap=self.options.backoff_cap)
        # Set when the engine itself failed: it starts nothing more and the caller must stop.
        self.fatal: EngineFailed | None = None
        self.cond = threading.Condition()  # guards the scheduler, the trackers and the counts
        self.scheduler: KeyScheduler[Work] = KeyScheduler(
            max_in_flight=self.options.max_in_flight,
            group_limit=self.options.group_limit,
            batch_turn=self.options.batch_turn,
            longest_every=self.options.longest_every,
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

    def submit(self, message: Message, tracker: PartitionOffsets) -> tuple[str, int]:
        """A polled message: tracked in its partition, queued behind its key, maybe started.
        Returns its concurrency group and how many messages that group holds now."""
        work = self._prepare(message, tracker)
        group = work.group = self._group(work)
        # What waits keeps its record's bytes, not the decoded event (an invoice: ≈220 bytes
        # against ≈3 KB decoded): a month-end backlog is read ahead, past the busy realms, to
        # reach the quiet realms' events (fairness), in little memory. Decoded again to run.
        work.event = None
        with self.cond:
            tracker.track(message.offset)
            self.scheduler.add(work.key, group, work, batchable=_batches(work))
            held = self.scheduler.queued_in(group)
        self.dispatch()
        return group, held

    def queued_in(self, group: str) -> int:
        with self.cond:
            return self.scheduler.queued_in(group)

    def dispatch(self) -> None:
        """Starts what may start now (due retries included)."""
        with self.cond:
            if not self.accepting:
                return
            ready = self.scheduler.start(time.monotonic())
            for work in ready:
                work.running = True
                self._running[work.tracker] += 1
            self.metrics.in_flight.set(self.scheduler.in_flight)
            self.metrics.waiting_retry.set(self.scheduler.deferred)
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

    @property
    def parked(self) -> int:
        """Buffered messages waiting on a retry (of their key or their held realm)."""
        with self.cond:
            return self.scheduler.parked(time.monotonic())

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
        except Exception as exc:  # the engine's own bug: stop the run, don't skip the message
            log.critical(
                "runtime error on %s: stopping",
                decoding.where(work.message),
                exc_info=True,
                extra=work.log_fields,
            )
            self._fail(work, exc)

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
        except Exception as exc:  # a handler bug: waited out like a key-scoped Retry, never DLQ'd
            log.error(
                "handler for %s raised (attempt %d); retrying",
                decoding.where(work.message),
                work.attempts,
                exc_info=True,
                extra=work.log_fields,
            )
            self.metrics.handler_errors.labels(work.message.topic, type(exc).__name__).inc()
            return Retry(f"{type(exc).__name__}: {exc}", after=0.0, scope="key")
        finally:
            self.metrics.latency.labels(work.message.topic).observe(time.monotonic() - started)

    def _settle(self, work: Work, outcome: Outcome) -> None:
        if isinstance(outcome, Retry):
            work.first_failure = work.first_failure or dt.datetime.now(dt.UTC)
            limit = self.options.give_up_after
            if limit is None or work.attempts < limit:
                self._retry(work, outcome)
                return
            outcome = Failed(
                "retries_exhausted", f"after {work.attempts} attempts: {outcome.reason}"
            )
        if isinstance(outcome, Poison) and not self._dead_letter(work, outcome):
            return
        self._finish(work, outcome)

    def _retry(self, work: Work, outcome: Retry) -> None:
        """Schedules the next attempt: the key waits, and for scope "realm" its group too."""
        delay = self.backoff.delay(work.attempts, floor=outcome.after, rand=self.jitter())
        work.event = None  # parked behind an outage: its bytes only, as when it first waited
        self._defer(work, delay, hold_group=outcome.scope == "realm")
        self.metrics.retries.labels(work.message.topic).inc()
        log.info(
            "retry %d of %s in %.2fs (holding its %s): %s",
            work.attempts,
            decoding.where(work.message),
            delay,
            outcome.scope,
            outcome.reason,
            extra=work.log_fields,
        )

    def _defer(self, work: Work, delay: float, *, hold_group: bool = False) -> None:
        """The key's head runs again after `delay`; later messages of the key wait behind it.
        With `hold_group`, nothing else of its concurrency group starts before then either."""
        now = time.monotonic()
        with self.cond:
            self._leave(work)
            if work.tracker.closed:  # revoked or lost: the next owner will process it
                self.scheduler.finish(work.key)
                return
            self.scheduler.defer(work.key, now + delay)
            self.metrics.waiting_retry.set(self.scheduler.deferred)
            if hold_group:
                self.scheduler.hold_group(work.group, now + delay)

    def _dead_letter(self, work: Work, poison: Poison) -> bool:
        """Writes the DLQ copy; False (and written again later) when the broker did not ack it."""
        m = work.message
        if not self.options.dead_letter:
            return True
        try:
            copy = self._write_copy(work, poison)
        except PublishFailed as exc:
            work.dlq_writes += 1
            delay = self.backoff.delay(work.dlq_writes, rand=self.jitter())
            log.error(
                "cannot dead-letter %s (try %d), trying again in %.1fs: %s",
                decoding.where(m),
                work.dlq_writes,
                delay,
                exc,
                extra=work.log_fields,
            )
            work.early = poison  # next time straight to the DLQ, not the handler
            self._defer(work, delay)
            return False
        self.metrics.dead_lettered.labels(m.topic, poison.error_class).inc()
        log.warning(
            "dead-lettered %s%s: %s: %s",
            decoding.where(m),
            f" (value truncated from {len(m.value or b'')} bytes)" if copy.truncated else "",
            poison.error_class,
            poison.reason,
            extra=work.log_fields,
        )
        return True

    def _write_copy(self, work: Work, poison: Poison) -> dlq.Copy:
        """The copy, whole when it fits (a value over dlq.MAX_COPY_VALUE is cut). One still
        refused as too large goes again without its value and original headers: the dlq.*
        headers say where the original is. Raises EngineFailed when even that is too large."""
        copy_of = functools.partial(
            dlq.dead_letter_copy,
            work.message,
            error_class=poison.error_class,
            reason=poison.reason,
            attempts=work.attempts,
            first_failure=work.first_failure or dt.datetime.now(dt.UTC),
        )
        copy = copy_of()
        try:
            self._produce(copy)
            return copy
        except PublishFailed as exc:
            if not _too_large(exc):
                raise
            log.warning("%s: the DLQ copy is too large (%s)", decoding.where(work.message), exc)
        bare = copy_of(max_value=0, original_headers=False)
        try:
            self._produce(bare)
        except PublishFailed as exc:
            if _too_large(exc):
                raise EngineFailed(f"cannot dead-letter even the headers: {exc}") from exc
            raise
        return bare

    def _produce(self, copy: dlq.Copy) -> None:
        record = Record(self.dlq_topic, copy.key, copy.value, copy.headers)
        self.dead_letters.publish([record], DLQ_TIMEOUT)

    def _finish(self, work: Work, outcome: Outcome) -> None:
        with self.cond:
            self._leave(work)
            self.scheduler.finish(work.key)
            work.tracker.complete(work.message.offset)
            self.cond.notify_all()
        self._count(work.message, outcome)
        self.dispatch()

    def _fail(self, work: Work, exc: Exception) -> None:
        """The engine failed on this message: it stays uncommitted, nothing more starts, and
        the caller stops the run (see `fatal`) so a restart reads the message again."""
        with self.cond:
            self.fatal = self.fatal or EngineFailed(
                f"runtime error on {decoding.where(work.message)}: {type(exc).__name__}: {exc}"
            )
            self.fatal.__cause__ = self.fatal.__cause__ or exc
            self.accepting = False
            if work.running:
                self._leave(work)
                self.scheduler.finish(work.key)
            self.cond.notify_all()

    def _leave(self, work: Work) -> None:
        work.running = False
        self._running[work.tracker] -= 1
        if self._running[work.tracker] <= 0:
            del self._running[work.tracker]  # also for trackers already forgotten
        self.cond.notify_all()

    def _count(self, message: Message, outcome: Outcome) -> None:
        self.metrics.count(message.topic, outcome)
        if self.on_outcome is not None:
            self.on_outcome(message, outcome)


def _too_large(exc: PublishFailed) -> bool:
    """The producer (at produce time: the cause) or the broker (in the delivery report, which
    PublishFailed carries as text, librdkafka's error name included) refused the record for
    its size."""
    cause = exc.__cause__
    if isinstance(cause, KafkaException):
        error = cause.args[0] if cause.args else None
        return isinstance(error, KafkaError) and error.code() in _TOO_LARGE
    return any(name in str(exc) for name in _TOO_LARGE_NAMES)


def _batches(work: Work) -> bool:
    """Whether the message may share a QBO request with its group's others (its handler says
    so; a poison message never reaches a handler)."""
    return work.early is None and bool(getattr(work.handler, "batches", False))
