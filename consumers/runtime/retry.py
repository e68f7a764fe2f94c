"""When the engine tries a message again: capped exponential backoff with jitter, no limit.

The formula and the jitter are `qbo.retry`'s, the one implementation shared with the QBO
client's inline retries (the runtime may import `qbo`; `qbo` never imports the runtime). This
module only holds the runtime's policy: a transient failure is waited out, however long it lasts,
probing at least every `cap` seconds, and never earlier than the other side asked (`floor`).
"""

from __future__ import annotations

from dataclasses import dataclass

from qbo.retry import backoff, jitter

__all__ = ["Backoff", "backoff", "jitter"]


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5
    cap: float = 300.0  # ≈5 minutes: a long outage is probed every few minutes, not hammered

    def delay(self, attempt: int, *, floor: float = 0.0, rand: float = 1.0) -> float:
        """Seconds before the next try, after failed attempt number `attempt` (1-based).

        A Retry-After longer than `cap` is still honoured: `floor` wins over the cap."""
        return backoff(attempt, base=self.base, cap=self.cap, floor=floor, rand=rand)
