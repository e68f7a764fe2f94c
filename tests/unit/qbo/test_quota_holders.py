"""The names under which a process holds quota slots: unique per request, and per process even
when a process forks (a slot is released only by the holder that took it)."""

from __future__ import annotations

import multiprocessing
import threading

from qbo.quota import Limits, SharedQuota


class Recording:
    """A `QuotaStore` that grants everything and records the holders."""

    def __init__(self) -> None:
        self.granted: list[str] = []
        self.released: list[str] = []
        self.lock = threading.Lock()

    def ensure_realm(self, realm_id: str, slots: int) -> None:
        pass

    def grant(self, realm_id: str, holder: str, limits: Limits) -> tuple[int | None, float]:
        with self.lock:
            self.granted.append(holder)
        return 1, 0.0

    def release(self, realm_id: str, slot: int, holder: str) -> None:
        with self.lock:
            self.released.append(holder)


def _one_holder() -> str:
    store = Recording()
    with SharedQuota(store, "realm").slot():
        pass
    return store.granted[0]


def test_every_request_has_its_own_holder_and_releases_under_it() -> None:
    store = Recording()
    quota = SharedQuota(store, "realm")

    def work() -> None:
        for _ in range(200):
            with quota.slot():
                pass

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(store.granted)) == 1600
    assert sorted(store.released) == sorted(store.granted)


def test_a_forked_process_holds_under_names_of_its_own() -> None:
    here = _one_holder()
    with multiprocessing.get_context("fork").Pool(1) as pool:
        there = pool.apply(_one_holder)
    prefix = here.rsplit(":", 1)[0]
    assert not there.startswith(prefix + ":")
    assert there.rsplit(":", 1)[0] != prefix
