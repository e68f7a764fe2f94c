"""Backoff policy: a pure function, with the randomness in its own function so tests pin it."""

from __future__ import annotations

import random


def jitter() -> float:
    """A factor in [0.5, 1.0): 'equal jitter', so retries of many keys spread out."""
    return 0.5 + random.random() / 2


def backoff(
    attempt: int, *, base: float = 0.5, cap: float = 60.0, floor: float = 0.0, rand: float = 1.0
) -> float:
    """Seconds to wait before retry number `attempt` (1-based).

    wait = max(floor, min(cap, base · 2^(attempt-1)) · rand), where `floor` is a wait the
    other side asked for (QBO's 429) and `rand` comes from `jitter()`.
    """
    exp = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(floor, exp * rand)


def next_retry(
    attempt: int,
    *,
    max_attempts: int,
    base: float,
    floor: float = 0.0,
    cap: float = 60.0,
    rand: float = 1.0,
) -> float | None:
    """After failed attempt number `attempt`: seconds until the next one, or None when the
    attempts are used up (the message is then dead-lettered as RetriesExhausted)."""
    if attempt >= max_attempts:
        return None
    return backoff(attempt, base=base, cap=cap, floor=floor, rand=rand)
