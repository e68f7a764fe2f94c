"""When to retry a QBO call, and after how long: a pure policy.

Reads are always safe to repeat. A write is repeated only when it carries a `requestid`:
"a repeat with the same requestid returns the original response; the operation is not
performed again" (blogs.intuit.com/2015/04/06/15346). After a read timeout the write may
have committed, so without a requestid a retry could create a duplicate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from qbo import errors

__all__ = ["RetryPolicy", "backoff", "jitter"]

# Intuit: "On 429, wait 60 s" (limits-and-throttles page), when no Retry-After is sent.
THROTTLE_WAIT = 60.0


def jitter() -> float:
    """A factor in [0.5, 1.0) ("equal jitter"), so many clients do not retry in step."""
    return 0.5 + random.random() / 2


def backoff(
    attempt: int, *, base: float, cap: float, floor: float = 0.0, rand: float = 1.0
) -> float:
    """Seconds before retry number `attempt` (1-based):

        wait = max(floor, min(cap, base · 2^(attempt-1)) · rand)

    `floor` is the wait QBO asked for (429), `rand` comes from `jitter()`. The one
    implementation: the consumer runtime's unbounded retries use it too (so the exponent is
    bounded: attempt 2,000 must not overflow a float).
    """
    exp = min(cap, base * 2.0 ** min(max(0, attempt - 1), 64))
    return max(floor, exp * rand)


@dataclass(frozen=True)
class RetryPolicy:
    """Inline retries of one call. A wait longer than `max_inline_wait` (a 429's 60 s) is not
    slept here: the error goes to the caller, whose scheduler can serve other realms meanwhile.
    """

    max_attempts: int = 4
    base: float = 0.25
    cap: float = 4.0
    max_inline_wait: float = 10.0
    throttle_wait: float = THROTTLE_WAIT

    def wait(
        self, error: errors.QboError, attempt: int, *, repeatable: bool, rand: float
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up and raise.

        `attempt` is the number of the attempt that failed (1-based); `repeatable` says whether
        the call may be sent again (a read, or a write with a requestid).
        """
        if not isinstance(error, errors.Retryable) or not repeatable:
            return None
        if attempt >= self.max_attempts:
            return None
        delay = backoff(
            attempt, base=self.base, cap=self.cap, floor=self.floor_for(error), rand=rand
        )
        return delay if delay <= self.max_inline_wait else None

    def floor_for(self, error: errors.Retryable) -> float:
        """The wait QBO asked for: Retry-After, else 60 s after a 429, else nothing."""
        if error.retry_after is not None:
            return error.retry_after
        return self.throttle_wait if isinstance(error, errors.Throttled) else 0.0

    def advise(self, error: errors.Retryable) -> float:
        """The wait to hand to the caller when giving up on an inline retry."""
        return max(self.floor_for(error), self.base)
