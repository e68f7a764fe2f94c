"""The concurrent runtime: a poll loop feeding the engine (ordering per key, not per partition).

Commit order, for every message:
  1. poll; the message is tracked as pending in its partition's tracker and queued behind its key
  2. a pool thread runs the handler when the key, its group's bound and the pool allow
  3. the effect is durable: the handler returned Done or Failed, or the dead-letter copy was
     acknowledged (Poison); a Retry defers the message instead (back to 2), without limit
  4. the tracker marks the offset complete
  5. the poll loop stores the partition's lowest contiguous completed position (every lower
     offset is done) with `store_offsets`
  6. librdkafka's auto-commit commits stored positions; revoke and shutdown commit synchronously
So a crash anywhere before 6 replays from the first unfinished offset; handlers are idempotent.

Rebalances are cooperative-sticky. On revoke, queued work of the revoked partitions is dropped,
running work gets `revoke_deadline` seconds to finish, then what is done is committed; work still
running after that is abandoned uncommitted (the new owner replays it). On lost, nothing is
committed. Backpressure: when `max_buffered` messages are held, every partition is paused (the
loop keeps polling, so the group keeps us) and resumed at half; nothing fetched is dropped, so
there is nothing to seek back to. Messages parked behind a retry (a realm's outage being waited
out) hold no thread, so they count against a limit of their own, `max_parked`, not against
`max_buffered`: one realm's outage does not stop the fetching of the others' messages until
that many of its messages are held in memory. Per realm too (consumers/runtime/realm_holds.py):
a realm holding `max_per_realm` messages pauses the partitions its messages come from, until it
drains to half; a month-end backlog stays bounded in memory, and nothing fetched is dropped.
Per partition as well: Kafka keeps one position per partition, so every message done behind a
head that waits (a realm's outage) stays tracked until the head is done (≈65 bytes each). A
partition with `max_tracked` offsets tracked is paused until half of them are committable.

Nothing is skipped silently: when the engine fails on a message (`Engine.fatal`) or librdkafka
reports a fatal error (this member fenced by another with the same `group.instance.id`, say),
`run` shuts down, committing only what is done, and raises: the process exits non-zero and a
restart reads the message again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from consumers.runtime import kafka
from consumers.runtime.engine import Engine, EngineOptions
from consumers.runtime.metrics import RuntimeMetrics
from consumers.runtime.offsets import PartitionOffsets
from consumers.runtime.realm_holds import RealmHolds
from consumers.runtime.types import Decoder, Handler, Message, Outcome
from publishing import Publisher

log = logging.getLogger(__name__)

TP = tuple[str, int]


@dataclass(frozen=True)
class RuntimeOptions:
    engine: EngineOptions = field(default_factory=EngineOptions)
    # A held message costs ≈2 KB (its record's bytes, not its decoded event: engine.submit), so
    # a process reads 20,000 ahead (≈40 MB): past a month-end backlog to the quiet realms'.
    max_buffered: int = 20_000  # polled, not yet done and not parked; beyond this: pause all
    max_parked: int = 50_000  # more held on top of that, waiting on retries: pause all too
    max_per_realm: int = 10_000  # held for one realm: pause the partitions it comes from
    max_tracked: int = 50_000  # offsets of one partition not committable yet: pause it (≈3 MB)
    revoke_deadline: float = 20.0
    shutdown_deadline: float = 25.0
    batch: int = 500
    lag_every: float = 5.0


class ConcurrentRuntime:
    def __init__(
        self,
        *,
        consumer: Consumer,
        dead_letters: Publisher,
        serde: Decoder,
        handlers: Mapping[str, Handler],
        dlq_topic: str,
        options: RuntimeOptions | None = None,
        metrics: RuntimeMetrics | None = None,
    ) -> None:
        self.consumer = consumer
        self.options = options or RuntimeOptions()
        self.metrics = metrics or RuntimeMetrics()
        self.engine = Engine(
            decoder=serde,
            handlers=handlers,
            dead_letters=dead_letters,
            dlq_topic=dlq_topic,
            options=self.options.engine,
            metrics=self.metrics,
            on_outcome=self._counted,
        )
        self.trackers: dict[TP, PartitionOffsets] = {}
        self.processed = 0
        self._count_lock = threading.Lock()
        self._paused = False
        self.holds: RealmHolds[TP] = RealmHolds(self.options.max_per_realm)
        self._behind: set[TP] = set()  # partitions paused at `max_tracked`
        self._stopping = False
        self._lag_at = 0.0

    def run(self, stop: threading.Event) -> None:
        self.engine.start()
        self.consumer.subscribe(
            list(self.engine.handlers),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        try:
            while not stop.is_set() and self.engine.fatal is None:
                self._poll_once()
            self._shutdown()
            if self.engine.fatal is not None:
                raise self.engine.fatal
        finally:
            self.engine.stop()
            self.consumer.close()  # revokes (committing what is done) and leaves the group

    def _poll_once(self) -> None:
        for msg in self.consumer.consume(self.options.batch, timeout=self._poll_timeout()):
            error = msg.error()
            if error is not None:
                # e.g. fenced: another member took our group.instance.id. librdkafka reports
                # it as an error of code _FATAL whose own fatal() is False.
                if error.fatal() or error.code() == KafkaError._FATAL:
                    raise KafkaException(error)
                log.warning("kafka: %s", error)
                continue
            self._submit(kafka.to_message(msg))
        self.engine.dispatch()  # retries that came due
        self._store_offsets()
        self._backpressure()
        self._report_lag()

    def _poll_timeout(self) -> float:
        due = self.engine.next_due()
        wait = 0.1 if due is None else due - time.monotonic()
        return min(0.1, max(0.0, wait))

    def _submit(self, message: Message) -> None:
        tp = (message.topic, message.partition)
        tracker = self.trackers.get(tp)
        if tracker is None:  # assigned without a callback (cannot happen with subscribe)
            tracker = self.trackers[tp] = PartitionOffsets()
        realm, held = self.engine.submit(message, tracker)
        if self.holds.fetched(realm, tp, held) and not self._paused:
            self.consumer.pause([TopicPartition(*tp)])
            self.metrics.pauses.inc()
        if tracker.in_progress >= self.options.max_tracked and tp not in self._behind:
            self._behind.add(tp)
            self.consumer.pause([TopicPartition(*tp)])
            self.metrics.pauses.inc()

    def _store_offsets(self) -> None:
        with self.engine.cond:
            moved = [(tp, t.advanced()) for tp, t in self.trackers.items()]
        offsets = [TopicPartition(t, p, pos) for (t, p), pos in moved if pos is not None]
        if offsets:
            try:
                self.consumer.store_offsets(offsets=offsets)
            except KafkaException as exc:  # a partition revoked in between: its owner replays
                log.warning("cannot store offsets: %s", exc)

    def _backpressure(self) -> None:
        free = self.holds.drained(self.engine.queued_in) if self.holds.full else []
        free += self._caught_up()
        if free and not self._paused:
            self.consumer.resume([TopicPartition(t, p) for t, p in free if self._fetchable((t, p))])
        buffered = self.engine.buffered
        self.metrics.buffered.set(buffered)
        # Counting the parked ones costs a walk over the waiting keys: only when it matters.
        parked = self.engine.parked if buffered > self.options.max_buffered // 2 else 0
        decision = backpressure(buffered, parked, paused=self._paused, options=self.options)
        if decision == "pause":
            self.consumer.pause(self.consumer.assignment())
            self._paused = True
            self.metrics.pauses.inc()
        elif decision == "resume":
            self._resume()

    def _caught_up(self) -> list[TP]:
        """Partitions paused at `max_tracked` whose tracker came down to half of it."""
        if not self._behind:
            return []
        with self.engine.cond:
            done = [
                tp
                for tp in self._behind
                if tp not in self.trackers
                or self.trackers[tp].in_progress <= self.options.max_tracked // 2
            ]
        self._behind.difference_update(done)
        return [tp for tp in done if tp in self.trackers]

    def _fetchable(self, tp: TP) -> bool:
        """Not held back by a full realm nor by its own tracker."""
        return not self.holds.held(tp) and tp not in self._behind

    def _resume(self) -> None:
        # Measured: librdkafka fetches again 0.4-0.5 s after resume() (sometimes seconds), so
        # resuming at half of `max_buffered` keeps the pool fed meanwhile at realistic rates.
        # Not the partitions a full realm or a long tracker holds: they resume on their own.
        assigned = self.consumer.assignment()
        self.consumer.resume([tp for tp in assigned if self._fetchable((tp.topic, tp.partition))])
        self._paused = False

    def _report_lag(self) -> None:
        now = time.monotonic()
        if now - self._lag_at < self.options.lag_every:
            return
        self._lag_at = now
        with self.engine.cond:
            positions = {tp: t.committable() for tp, t in self.trackers.items()}
        for (topic, partition), position in positions.items():
            _low, high = self.consumer.get_watermark_offsets(
                TopicPartition(topic, partition), cached=True
            )
            if position is not None and high >= 0:
                self.metrics.lag.labels(topic, str(partition)).set(max(0, high - position))

    def _counted(self, _message: Message, _outcome: Outcome) -> None:
        with self._count_lock:
            self.processed += 1

    # -- rebalance and shutdown ----------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.trackers[(tp.topic, tp.partition)] = PartitionOffsets()
        consumer.incremental_assign(partitions)
        if self._paused:
            consumer.pause(partitions)
        log.info("assigned %s", _names(partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        mine = self._take(partitions)
        dropped = self.engine.close_partitions(list(mine.values()))
        # While shutting down, drain() already gave running handlers their time.
        grace = 0.0 if self._stopping else self.options.revoke_deadline
        deadline = time.monotonic() + grace
        if not self.engine.wait_idle(list(mine.values()), deadline):
            log.warning(
                "revoke: work still running after %.0fs is abandoned uncommitted",
                self.options.revoke_deadline,
            )
        self._commit(mine)
        self.engine.forget(list(mine.values()))
        consumer.incremental_unassign(partitions)
        log.info(
            "revoked %s (%d queued messages left to the next owner)", _names(partitions), dropped
        )

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another member may own them already: commit nothing, let running work finish unseen.
        mine = self._take(partitions)
        self.engine.close_partitions(list(mine.values()))
        self.engine.forget(list(mine.values()))
        consumer.incremental_unassign(partitions)
        log.warning("lost %s: nothing committed", _names(partitions))

    def _take(self, partitions: list[TopicPartition]) -> dict[TP, PartitionOffsets]:
        keys = [(tp.topic, tp.partition) for tp in partitions]
        self.holds.forget(keys)
        self._behind.difference_update(keys)
        return {k: self.trackers.pop(k) for k in keys if k in self.trackers}

    def _commit(self, trackers: Mapping[TP, PartitionOffsets]) -> None:
        with self.engine.cond:
            positions = {tp: t.committable() for tp, t in trackers.items()}
        offsets = [
            TopicPartition(t, p, pos) for (t, p), pos in positions.items() if pos is not None
        ]
        if not offsets:
            return
        try:
            # Stored too, so a later auto-commit of a stale stored position cannot move back.
            self.consumer.store_offsets(offsets=offsets)
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            log.warning("commit of %s failed: %s", _names(offsets), exc)

    def _shutdown(self) -> None:
        """Stop fetching, let running handlers finish within the deadline, commit."""
        self._stopping = True
        self.consumer.pause(self.consumer.assignment())
        deadline = time.monotonic() + self.options.shutdown_deadline
        if not self.engine.drain(deadline):
            log.warning(
                "shutdown: handlers still running after %.0fs are abandoned",
                self.options.shutdown_deadline,
            )
        self._commit(dict(self.trackers))


def backpressure(
    buffered: int, parked: int, *, paused: bool, options: RuntimeOptions
) -> str | None:
    """ "pause", "resume" or None (no change), with hysteresis: pause when the active messages
    (buffered, not parked) reach `max_buffered` or everything reaches `max_buffered` +
    `max_parked`; resume at half of `max_buffered` below each."""
    active, half = buffered - parked, options.max_buffered // 2
    ceiling = options.max_buffered + options.max_parked
    if not paused and (active >= options.max_buffered or buffered >= ceiling):
        return "pause"
    if paused and active <= half and buffered <= ceiling - half:
        return "resume"
    return None


def _names(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
