"""The admin API's Kafka operations (`api.operations.Operations`), over the consumers' DLQ and
replay machinery: what `dlq list|replay` and `replay` do, for `serve`."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from api.operations import DeadLetterOut, DlqReplayOut, OperationRefused, ReplayIn, ReplayReport
from consumers.runtime import dlq, kafka, replay
from consumers.runtime.engine import Engine, EngineOptions
from sequence_qbo import wiring

__all__ = ["KafkaOperations"]


def _out(x: dlq.DeadLetter) -> DeadLetterOut:
    h = x.headers
    return DeadLetterOut(
        coordinates=x.coordinates,
        source_topic=x.source_topic,
        source_partition=h.get(dlq.HEADER_SOURCE_PARTITION),
        source_offset=h.get(dlq.HEADER_SOURCE_OFFSET),
        key=x.key.decode("utf-8", "replace") if x.key is not None else None,
        error_class=h.get(dlq.HEADER_ERROR_CLASS),
        reason=h.get(dlq.HEADER_REASON),
        attempts=h.get(dlq.HEADER_ATTEMPTS),
        first_failure=h.get(dlq.HEADER_FIRST_FAILURE),
        truncated=x.truncated,
        headers=dict(h),
    )


class KafkaOperations:
    def __init__(self, app: wiring.Application) -> None:
        self.app = app
        self.settings = app.settings

    def _letters(self) -> list[dlq.DeadLetter]:
        return dlq.read_dead_letters(self.settings.kafka_bootstrap, self.settings.topics.dlq)

    def dead_letters(self) -> Sequence[DeadLetterOut]:
        return [_out(x) for x in self._letters()]

    def reinject(self, coordinates: Sequence[str], *, dry_run: bool) -> DlqReplayOut:
        wanted = list(dict.fromkeys(coordinates))
        by_place = {x.coordinates: x for x in self._letters()}
        chosen = [by_place[c] for c in wanted if c in by_place]
        truncated = [x.coordinates for x in chosen if x.truncated]
        if truncated:
            raise OperationRefused(
                "dead_letter_truncated",
                f"only part of these records was copied into the DLQ: {', '.join(truncated)}; "
                "leave them out (the originals are in their source topics)",
            )
        if chosen and not dry_run:
            producer = kafka.producer(self.settings.kafka_bootstrap)
            try:
                dlq.reinject(producer, chosen)
            finally:
                producer.flush(5)
        return DlqReplayOut(
            dry_run=dry_run,
            reinjected=[_out(x) for x in chosen],
            not_found=[c for c in wanted if c not in by_place],
        )

    def check_topic(self, topic: str) -> None:
        inputs = sorted(self.app.handlers())
        if topic not in inputs:
            raise OperationRefused(
                "unknown_topic", f"not an input topic: {topic} (input topics: {', '.join(inputs)})"
            )

    def replay(
        self, request: ReplayIn, progress: Callable[[int, int | None], None]
    ) -> ReplayReport:
        """As `sequence-qbo replay`: a side consumer of its own group over the time range."""
        handlers = self.app.handlers()
        if request.topic not in handlers:
            raise OperationRefused("unknown_topic", f"not an input topic: {request.topic}")
        no_commits: dict[str, Any] = {"enable.auto.commit": False}
        consumer = kafka.consumer(
            self.settings.kafka_bootstrap,
            f"{self.settings.consumer_group}-replay-{uuid.uuid4().hex[:8]}",
            **no_commits,
        )
        try:
            spans = replay.plan(consumer, request.topic, request.since, request.until)
        except ValueError as exc:
            consumer.close()
            raise OperationRefused("replay_refused", str(exc)) from exc
        total = sum(s.size for s in spans)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            progress(done[0], total)

        job = replay.Replay(
            consumer,
            spans,
            engine=None,
            decoder=self.app.serde,
            event=handlers[request.topic].event,
            progress=advance,
        )
        if not request.dry_run:
            job.engine = Engine(
                decoder=self.app.serde,
                handlers={request.topic: handlers[request.topic]},
                dead_letters=self.app.publisher,  # unused: no DLQ
                dlq_topic=self.settings.topics.dlq,
                # As the CLI's replay: transient failures are given up (counted failed) after
                # 8 attempts; the live group consumes them anyway.
                options=EngineOptions(dead_letter=False, give_up_after=8),
                on_outcome=job.on_outcome,
            )
        counts = dict(job.run(threading.Event()))
        return ReplayReport(
            topic=request.topic,
            since=request.since,
            until=request.until,
            dry_run=request.dry_run,
            counts=counts,
        )
