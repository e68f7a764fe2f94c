"""Replaying a time range of a topic through the handlers with a side consumer.

The side consumer has its own unique group id, is assigned (never subscribed) and commits
nothing, so the live group's offsets and members are untouched. It starts at the first offset at
or after `since` (`offsets_for_times`) and stops at the first offset after `until`, or at the high
watermark seen at start: records produced during the replay are left to the live consumers.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from consumers.runtime import kafka
from consumers.runtime.engine import Engine
from consumers.runtime.offsets import PartitionOffsets
from consumers.runtime.types import Decoder, Done, Message, Outcome

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Span:
    """Offsets [start, end) of one partition."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def size(self) -> int:
        return max(0, self.end - self.start)


def plan(
    consumer: Consumer,
    topic: str,
    since: dt.datetime,
    until: dt.datetime | None,
    timeout: float = 30.0,
) -> list[Span]:
    meta = consumer.list_topics(topic, timeout=timeout).topics[topic]
    if meta.error is not None:
        raise ValueError(f"no topic {topic}: {meta.error}")
    parts = sorted(meta.partitions)
    highs = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
        for p in parts
    }
    starts = _offsets_at(consumer, topic, parts, since, highs, timeout)
    # Records stamped exactly `until` are included: stop at the first one after it.
    ends = (
        _offsets_at(consumer, topic, parts, until + dt.timedelta(milliseconds=1), highs, timeout)
        if until
        else highs
    )
    return [Span(topic, p, starts[p], min(ends[p], highs[p])) for p in parts]


def _offsets_at(
    consumer: Consumer,
    topic: str,
    parts: list[int],
    when: dt.datetime,
    highs: dict[int, int],
    timeout: float,
) -> dict[int, int]:
    """First offset with a timestamp at or after `when`; the high watermark when none is."""
    ms = int(when.timestamp() * 1000)
    found = consumer.offsets_for_times(
        [TopicPartition(topic, p, ms) for p in parts], timeout=timeout
    )
    return {tp.partition: tp.offset if tp.offset >= 0 else highs[tp.partition] for tp in found}


class Replay:
    """Feeds the spans through the engine (or only the decoder, for a dry run) and counts."""

    def __init__(
        self,
        consumer: Consumer,
        spans: list[Span],
        *,
        engine: Engine | None,
        decoder: Decoder,
        event: str,
        progress: Progress | None = None,
    ) -> None:
        self.consumer = consumer
        self.spans = [s for s in spans if s.size]
        self.engine = engine
        self.decoder = decoder
        self.event = event
        self.progress = progress or (lambda _n: None)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def on_outcome(self, _message: Message, outcome: Outcome) -> None:
        """The engine's hook: one finished message."""
        with self._lock:
            self.counts[outcome.label if isinstance(outcome, Done) else "failed"] += 1
        self.progress(1)

    def run(self, stop: threading.Event) -> Counter[str]:
        ends = {(s.topic, s.partition): s.end for s in self.spans}
        trackers = {tp: PartitionOffsets() for tp in ends}
        self.consumer.assign([TopicPartition(s.topic, s.partition, s.start) for s in self.spans])
        if self.engine is not None:
            self.engine.start()
        try:
            while not stop.is_set() and (ends or self._busy()):
                batch = self.consumer.consume(500, timeout=0.1)
                for msg in batch:
                    if not msg.error():
                        self._take(kafka.to_message(msg), ends, trackers)
                if not batch:
                    self._reached(ends)
                if self.engine is not None:
                    self.engine.dispatch()
                    if self.engine.fatal is not None:
                        raise self.engine.fatal
        finally:
            if self.engine is not None:
                self.engine.drain(time.monotonic() + (0.0 if stop.is_set() else 30.0))
                self.engine.stop()
            self.consumer.close()
        return self.counts

    def _reached(self, ends: dict[tuple[str, int], int]) -> None:
        """Ends no record will reach: the last offsets were transaction markers or compacted."""
        positions = self.consumer.position([TopicPartition(t, p) for t, p in ends])
        for tp in positions:
            if tp.offset >= ends[(tp.topic, tp.partition)]:
                del ends[(tp.topic, tp.partition)]

    def _busy(self) -> bool:
        return self.engine is not None and self.engine.buffered > 0

    def _take(
        self,
        m: Message,
        ends: dict[tuple[str, int], int],
        trackers: dict[tuple[str, int], PartitionOffsets],
    ) -> None:
        tp = (m.topic, m.partition)
        if tp not in ends or m.offset >= ends[tp]:
            return  # past the end: left to the live consumers
        if m.offset + 1 >= ends[tp]:
            del ends[tp]
            self.consumer.pause([TopicPartition(*tp)])
        with self._lock:
            self.counts["read"] += 1
        if self.engine is not None:
            self.engine.submit(m, trackers[tp])
        else:
            self._count_decoded(m)

    def _count_decoded(self, m: Message) -> None:
        from schemas.serde import SerdeError

        try:
            self.decoder.decode(self.event, m.value)
            label = "decodable"
        except SerdeError:
            label = "undecodable"
        self.counts[label] += 1
        self.progress(1)
