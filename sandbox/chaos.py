"""Injected latency and faults, configured at runtime through `/_sandbox/faults`.

Kinds: `error` (HTTP 5xx), `throttle` (429 with the gateway body), `drop` (connection closed
before anything is done), `commit_drop` (the write happens, then the connection is closed) and
`commit_hold` (the write happens, the response is held for `hold_seconds`, then dropped): the
"committed then timed out" case every QBO client must survive.

A rule can be limited to a window of wall-clock time: `seconds: N` when it is installed makes it
fire only for the next N seconds (an outage: `probability: 1` for 180 s), after which it is
spent. A throttle rule with `retry_after` sends that `Retry-After` header with its 429.
"""

from __future__ import annotations

import random
import time
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["error", "throttle", "drop", "commit_drop", "commit_hold"]


class Rule(BaseModel):
    kind: Kind
    status: int = 500
    probability: float = Field(0.0, ge=0, le=1)
    next: int | None = Field(None, description="fire on the next N matching requests")
    realm: str | None = None
    method: str | None = None
    entity: str | None = Field(None, description="first path segment, e.g. invoice, query")
    hold_seconds: float = 150.0  # longer than any sane client read timeout (QBO's is 120 s)
    retry_after: int | None = Field(None, ge=0, description="throttle: Retry-After seconds")
    seconds: float | None = Field(
        None, gt=0, description="fire only for this many seconds after the rule is installed"
    )
    until: float | None = Field(None, description="epoch seconds after which the rule is spent")

    def stamped(self, now: float) -> Rule:
        """The rule as installed: a `seconds` window becomes an `until` instant."""
        if self.seconds is None or self.until is not None:
            return self
        return self.model_copy(update={"until": now + self.seconds})

    def matches(self, realm: str, method: str, entity: str) -> bool:
        return (
            (self.until is None or time.time() < self.until)
            and (self.realm is None or self.realm == realm)
            and (self.method is None or self.method.upper() == method)
            and (self.entity is None or self.entity.lower() == entity.lower())
        )


class FaultSettings(BaseModel):
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    realm_latency_ms: dict[str, float] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)


class Chaos:
    def __init__(self, latency_ms: float, seed: int | None) -> None:
        self.default_latency = latency_ms
        self.settings = FaultSettings(latency_ms=latency_ms)
        self.rng = random.Random(seed)
        self.fired: dict[str, int] = {}

    def install(self, settings: FaultSettings) -> None:
        now = time.time()
        self.settings = settings.model_copy(
            update={"rules": [rule.stamped(now) for rule in settings.rules]}
        )

    def add(self, rule: Rule) -> None:
        self.settings.rules.append(rule.stamped(time.time()))

    def reset(self) -> None:
        self.settings = FaultSettings(latency_ms=self.default_latency)
        self.fired.clear()

    def latency(self, realm: str) -> float:
        """Seconds to wait before answering."""
        s = self.settings
        base = s.realm_latency_ms.get(realm, s.latency_ms)
        jitter = self.rng.uniform(0, s.jitter_ms) if s.jitter_ms else 0.0
        return (base + jitter) / 1000.0

    def pick(self, realm: str, method: str, entity: str) -> Rule | None:
        for rule in self.settings.rules:
            if not rule.matches(realm, method, entity):
                continue
            if rule.next is not None:
                if rule.next > 0:
                    rule.next -= 1
                    return self._fire(rule)
            elif rule.probability and self.rng.random() < rule.probability:
                return self._fire(rule)
        return None

    def _fire(self, rule: Rule) -> Rule:
        self.fired[rule.kind] = self.fired.get(rule.kind, 0) + 1
        return rule
