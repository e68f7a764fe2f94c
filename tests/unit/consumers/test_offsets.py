"""The lowest contiguous completed offset, without Kafka."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from consumers.runtime.offsets import PartitionOffsets


def _tracked(*offsets: int) -> PartitionOffsets:
    t = PartitionOffsets()
    for o in offsets:
        t.track(o)
    return t


def test_nothing_tracked_means_nothing_to_commit() -> None:
    assert PartitionOffsets().committable() is None


def test_position_stays_at_the_lowest_unfinished_offset() -> None:
    t = _tracked(10, 11, 12, 13)
    assert t.committable() == 10
    t.complete(12)
    t.complete(11)
    assert t.committable() == 10  # 10 still running: committing 11+ would skip it on a crash
    t.complete(10)
    assert t.committable() == 13
    t.complete(13)
    assert t.committable() == 14


def test_gaps_in_offsets_do_not_block_the_position() -> None:
    # Compacted topics and transaction markers leave holes in the offsets.
    t = _tracked(5, 9, 20)
    for o in (20, 5, 9):
        t.complete(o)
    assert t.committable() == 21


def test_advanced_reports_each_new_position_once() -> None:
    t = _tracked(0, 1)
    assert t.advanced() == 0
    assert t.advanced() is None
    t.complete(1)
    assert t.advanced() is None
    t.complete(0)
    assert t.advanced() == 2
    assert t.in_progress == 0


def test_offsets_must_increase() -> None:
    t = _tracked(3)
    with pytest.raises(ValueError, match="not increasing"):
        t.track(2)


def test_random_completion_order_never_passes_an_unfinished_offset() -> None:
    rng = random.Random(7)
    offsets = list(range(500))
    t = _tracked(*offsets)
    done: set[int] = set()
    for o in rng.sample(offsets, len(offsets)):
        t.complete(o)
        done.add(o)
        position = t.committable()
        assert position is not None
        assert all(x in done for x in range(position))
        assert position == 500 or position not in done


def test_memory_of_offsets_done_out_of_order_is_given_back_once_they_are_contiguous() -> None:
    # A slow first message while 20,000 later ones complete: the set of offsets done ahead of
    # it grows large; once the first completes, an idle tracker holds no more than a fresh one.
    tracemalloc.start()
    try:
        t = _tracked(*range(20_000))
        before = tracemalloc.get_traced_memory()[0]
        for o in range(1, 20_000):
            t.complete(o)
        assert tracemalloc.get_traced_memory()[0] - before > 500_000  # the burst did grow it
        t.complete(0)
        assert t.committable() == 20_000
        left = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert left < 10_000, f"{left} bytes still held"
