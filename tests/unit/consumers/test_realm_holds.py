"""Per-realm backpressure: a realm's full queue pauses the partitions its messages come from,
until it drains to half; a partition two full realms hold resumes when both drained."""

from __future__ import annotations

from consumers.runtime.realm_holds import RealmHolds


def test_a_full_realm_pauses_its_partitions_once_and_resumes_them_at_half() -> None:
    holds = RealmHolds[int](limit=10)
    assert not holds.fetched("busy", 0, 9)
    assert holds.fetched("busy", 0, 10)  # full: pause partition 0
    assert not holds.fetched("busy", 0, 11)  # already paused
    assert holds.fetched("busy", 1, 12)  # its messages come from partition 1 too
    queued = {"busy": 6}
    assert holds.drained(queued.__getitem__) == []  # above half: still held
    queued["busy"] = 5
    assert sorted(holds.drained(queued.__getitem__)) == [0, 1]
    assert holds.full == 0


def test_a_partition_held_by_two_realms_resumes_when_both_drained() -> None:
    holds = RealmHolds[int](limit=4)
    assert holds.fetched("a", 0, 4)
    assert not holds.fetched("b", 0, 4)  # paused already, now held twice
    queued = {"a": 0, "b": 3}
    assert holds.drained(queued.__getitem__) == []
    assert holds.held(0)
    queued["b"] = 2
    assert holds.drained(queued.__getitem__) == [0]
    assert not holds.held(0)


def test_a_revoked_partition_is_forgotten() -> None:
    holds = RealmHolds[int](limit=1)
    holds.fetched("a", 0, 1)
    holds.fetched("a", 1, 1)
    holds.forget([0])
    assert not holds.held(0)
    assert holds.drained(lambda _realm: 0) == [1]
