"""`run`'s reconciliation loops: one that ends on its own stops the process (exit non-zero for a
supervisor) instead of leaving it running without its relay or poller."""

from __future__ import annotations

import threading

from sequence_qbo.commands.run import start_loops


class Loop:
    def __init__(self, name: str, fail: bool) -> None:
        self.name = name
        self.fail = fail

    def run(self, stop: threading.Event) -> None:
        if self.fail:
            raise RuntimeError("a bug outside any pass")
        stop.wait()


def test_a_loop_that_raises_stops_the_process_and_is_named() -> None:
    stop, ended = threading.Event(), []
    threads = start_loops([Loop("relay", fail=False), Loop("poller", fail=True)], stop, ended)
    assert stop.wait(5)
    for thread in threads:
        thread.join(5)
    assert ended == ["poller"]


def test_loops_stopped_on_purpose_are_not_reported() -> None:
    stop, ended = threading.Event(), []
    threads = start_loops([Loop("relay", fail=False)], stop, ended)
    stop.set()
    for thread in threads:
        thread.join(5)
    assert not threads[0].is_alive()
    assert ended == []
