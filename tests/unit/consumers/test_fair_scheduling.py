"""Fair scheduling across realms: round-robin over the groups, the turn carried over from one
`start` to the next, so a busy realm's backlog never delays another realm's message."""

from __future__ import annotations

from consumers.runtime.scheduler import KeyScheduler


def test_a_quiet_realms_message_starts_on_the_next_free_thread_despite_a_backlog() -> None:
    s = KeyScheduler[str](max_in_flight=4, group_limit=30)
    for i in range(5000):
        s.add(f"busy-{i}", "busy", f"b{i}")
    assert s.start(0) == ["b0", "b1", "b2", "b3"]  # alone: it may use every thread
    s.add("quiet-1", "quiet", "q1")
    s.finish("busy-0")
    assert s.start(0) == ["q1"]  # the freed thread goes to the quiet realm, not to b4
    s.finish("busy-1")
    assert s.start(0) == ["b4"]


def test_threads_are_shared_round_robin_and_the_turn_carries_over() -> None:
    s = KeyScheduler[str](max_in_flight=3, group_limit=100)
    for group in ("a", "b", "c", "d"):
        for i in range(10):
            s.add(f"{group}{i}", group, f"{group}{i}")
    assert s.start(0) == ["a0", "b0", "c0"]
    s.finish("a0")
    assert s.start(0) == ["d0"]  # d's turn, though a comes first in arrival order
    s.finish("b0")
    assert s.start(0) == ["a1"]


def test_no_group_starves_while_threads_are_scarce() -> None:
    s = KeyScheduler[str](max_in_flight=8, group_limit=10)
    groups = [f"realm{g}" for g in range(100)]
    for g in groups:
        for i in range(50):
            s.add(f"{g}-{i}", g, g)
    served: dict[str, int] = {}
    running: list[str] = []
    for _ in range(200):  # finish one, start one: 200 starts over 100 realms
        for item in s.start(0):
            served[item] = served.get(item, 0) + 1
            running.append(item)
        done = running.pop(0)
        s.finish(f"{done}-{served[done] - 1}")
    assert set(served) == set(groups)
    assert max(served.values()) - min(served.values()) <= 1


def test_queued_per_group_counts_what_is_held_and_running() -> None:
    s = KeyScheduler[str](max_in_flight=10, group_limit=10)
    for i in range(3):
        s.add(f"k{i}", "a", f"x{i}")
    s.add("j", "b", "y")
    assert (s.queued_in("a"), s.queued_in("b")) == (3, 1)
    s.start(0)
    s.finish("k0")
    assert s.queued_in("a") == 2
    s.add("k1", "a", "x1-next")
    s.drop(lambda key: key == "k1")
    assert s.queued_in("a") == 2  # k1's running head stays until it finishes; x1-next went
    s.finish("k1")
    assert (s.queued_in("a"), s.queued_in("c")) == (1, 0)
