"""The key scheduler: order per key, bounds per group and overall, retries, revokes."""

from __future__ import annotations

import random

from consumers.runtime.scheduler import KeyScheduler


def _sched(max_in_flight: int = 100, group_limit: int = 10) -> KeyScheduler[str]:
    return KeyScheduler(max_in_flight=max_in_flight, group_limit=group_limit)


def test_one_message_per_key_at_a_time_in_order() -> None:
    s = _sched()
    for item in ("a1", "a2", "b1"):
        s.add(item[0], "g", item)
    assert s.start(0) == ["a1", "b1"]
    assert s.start(0) == []  # a2 waits behind a1
    s.finish("a")
    assert s.start(0) == ["a2"]


def test_a_group_never_exceeds_its_bound() -> None:
    s = _sched(group_limit=2)
    for i in range(5):
        s.add(f"k{i}", "acct_1", f"x{i}")
    s.add("other", "acct_2", "y")
    assert s.start(0) == ["x0", "y", "x1"]  # round-robin over the groups
    s.finish("k0")
    assert s.start(0) == ["x2"]


def test_per_group_limits_override_the_default() -> None:
    s = KeyScheduler[str](max_in_flight=100, group_limit=10, group_limits={"slow": 1})
    for i in range(3):
        s.add(f"k{i}", "slow", f"x{i}")
    assert s.start(0) == ["x0"]


def test_the_pool_bound_holds_across_groups() -> None:
    s = _sched(max_in_flight=3)
    for i in range(10):
        s.add(f"k{i}", f"g{i}", f"x{i}")
    assert len(s.start(0)) == 3
    assert s.in_flight == 3


def test_a_deferred_message_keeps_its_key_but_frees_its_slot() -> None:
    s = _sched(group_limit=1)
    s.add("a", "g", "a1")
    s.add("a", "g", "a2")
    s.add("b", "g", "b1")
    assert s.start(0) == ["a1"]
    s.defer("a", until=5.0)
    assert s.start(1) == ["b1"]  # the group slot is free; a2 still waits behind a1
    s.finish("b")
    assert s.start(4.9) == []
    assert s.next_due() == 5.0
    assert s.start(5.0) == ["a1"]  # the retry, before a2
    s.finish("a")
    assert s.start(5.0) == ["a2"]


def test_a_held_group_starts_nothing_while_others_run() -> None:
    s = _sched()
    s.add("a", "throttled", "a1")
    s.add("b", "fine", "b1")
    s.hold_group("throttled", until=2.0)
    assert s.start(0) == ["b1"]
    assert s.next_due() == 2.0
    assert s.start(2.0) == ["a1"]


def test_drop_forgets_queued_and_deferred_work_but_not_running_work() -> None:
    s = _sched()
    s.add(("p0", "a"), "g", "a1")
    s.add(("p0", "a"), "g", "a2")
    s.add(("p0", "b"), "g", "b1")
    s.add(("p1", "c"), "g", "c1")
    assert s.start(0) == ["a1", "b1", "c1"]
    s.defer(("p0", "b"), until=9.0)
    dropped = s.drop(lambda key: key[0] == "p0")
    assert sorted(dropped) == ["a2", "b1"]
    assert s.start(10) == []  # b1's retry is gone, a2 gone
    s.finish(("p0", "a"))  # the running head finishes normally
    assert s.queued == 1
    s.finish(("p1", "c"))
    assert s.queued == 0


def test_random_interleavings_keep_order_and_bounds() -> None:
    rng = random.Random(3)
    s = KeyScheduler[tuple[str, int]](max_in_flight=8, group_limit=3)
    sent: dict[str, int] = {}
    for _ in range(400):
        key = f"k{rng.randrange(40)}"
        sent[key] = sent.get(key, 0) + 1
        s.add(key, f"g{rng.randrange(5)}", (key, sent[key]))
    seen: dict[str, list[int]] = {}
    running: list[tuple[str, int]] = []
    now = 0.0
    while s.queued:
        running.extend(s.start(now))
        assert len(running) <= 8
        assert len({k for k, _ in running}) == len(running)  # one per key
        k, n = running.pop(rng.randrange(len(running))) if running else (None, 0)
        now += 1
        if k is None:
            continue
        if rng.random() < 0.1:
            s.defer(k, now + rng.random() * 3)
            continue
        seen.setdefault(k, []).append(n)
        s.finish(k)
    assert {k: len(v) for k, v in seen.items()} == sent
    assert all(v == sorted(v) for v in seen.values())


def test_a_batchable_turn_starts_a_batch_worth_then_passes() -> None:
    """A realm's creates share /batch requests: its turn is a batch's worth (one request), and
    the quiet realm's one invoice still starts in the very next turn."""
    s = KeyScheduler[str](max_in_flight=8, group_limit=30, batch_turn=3)
    for i in range(10):
        s.add(f"busy{i}", "busy", f"b{i}", batchable=True)
    s.add("quiet", "quiet", "q0", batchable=True)
    assert s.start(0)[:4] == ["b0", "b1", "b2", "q0"]
    # Without the flag a turn is one message, whatever `batch_turn` says.
    t = KeyScheduler[str](max_in_flight=8, group_limit=30, batch_turn=3)
    for i in range(4):
        t.add(f"busy{i}", "busy", f"b{i}")
    t.add("quiet", "quiet", "q0")
    assert t.start(0)[:2] == ["b0", "q0"]


def test_a_batchable_turn_stops_at_the_first_message_that_is_not() -> None:
    s = KeyScheduler[str](max_in_flight=20, group_limit=30, batch_turn=5)
    s.add("a", "g", "create-a", batchable=True)
    s.add("b", "g", "update-b")
    s.add("c", "g", "create-c", batchable=True)
    s.add("other", "h", "h0")
    assert s.start(0) == ["create-a", "h0", "update-b", "create-c"]


def test_a_batchable_turn_keeps_the_group_and_pool_bounds() -> None:
    s = KeyScheduler[str](max_in_flight=4, group_limit=2, batch_turn=30)
    for i in range(6):
        s.add(f"k{i}", "g", f"x{i}", batchable=True)
    s.add("o", "other", "o0")
    assert s.start(0) == ["x0", "x1", "o0"]
    assert s.in_flight == 3


def test_a_batch_turn_spans_threads_freed_one_by_one() -> None:
    """Under load threads free up one at a time: the busy realm's turn still holds a batch's
    worth (the next frees are its own), then passes; a quiet realm's new message goes first."""
    s = KeyScheduler[str](max_in_flight=1, group_limit=30, batch_turn=3)
    for i in range(6):
        s.add(f"b{i}", "busy", f"b{i}", batchable=True)
    s.add("o0", "other", "o0", batchable=True)
    s.add("o1", "other", "o1", batchable=True)
    order = []
    for _ in range(5):
        [item] = s.start(0)
        order.append(item)
        s.finish(item)
        if item == "b1":
            s.add("q0", "quiet", "q0")  # arrives mid-turn: served next
    assert order == ["b0", "b1", "q0", "b2", "o0"]


def test_the_longest_backlog_gets_one_start_in_n_on_top_of_its_turns() -> None:
    s = KeyScheduler[str](max_in_flight=8, group_limit=30, longest_every=4)
    for i in range(20):
        s.add(f"big{i}", "big", f"big{i}")
    for g in ("a", "b", "c"):
        for i in range(5):
            s.add(f"{g}{i}", g, f"{g}{i}")
    started = s.start(0)
    # round-robin big, a, b, then the longest's extra start; c, big, a, extra.
    assert started == ["big0", "a0", "b0", "big1", "c0", "big2", "a1", "big3"]


def test_the_longest_backlog_gives_its_extra_starts_back_at_its_bound() -> None:
    s = KeyScheduler[str](max_in_flight=8, group_limit=2, longest_every=2)
    for i in range(20):
        s.add(f"big{i}", "big", f"big{i}")
    for g in ("a", "b"):
        for i in range(5):
            s.add(f"{g}{i}", g, f"{g}{i}")
    started = s.start(0)
    assert started.count("big0") + started.count("big1") == 2
    assert len(started) == 6 and sum(x.startswith("big") for x in started) == 2


def test_a_quiet_realm_still_goes_first_beside_the_longest_backlog() -> None:
    s = KeyScheduler[str](max_in_flight=1, group_limit=30, longest_every=2)
    for i in range(10):
        s.add(f"big{i}", "big", f"big{i}")
    order = []
    for n in range(4):
        if n == 2:
            s.add("q0", "quiet", "q0")
        [item] = s.start(0)
        order.append(item)
        s.finish(item)
    assert order[2] == "q0"
