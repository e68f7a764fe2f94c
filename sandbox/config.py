"""Frozen configuration of the emulator; every runtime knob also has a `/_sandbox/` route."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Quotas(BaseModel):
    """Per-realm limits; QBO: 500 req/min, 10 req/s and 10 concurrent per realm and app,
    40 batch requests per minute (developer.intuit.com "limits and throttles")."""

    model_config = ConfigDict(frozen=True)

    per_minute: int = 500
    per_second: int = 10
    concurrent: int = 10
    batch_per_minute: int = 40


class WebhookConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str | None = None
    format: Literal["legacy", "cloudevents"] = "legacy"
    verifier_token: str = "sandbox-verifier-token"
    # Sandbox QBO delivers near real time; production aggregates 1-5 minutes.
    batch_window_seconds: float = 0.5
    enabled: bool = True
    # QBO retries after 10s, 20s, 30s, 5m, 20m, 2h, 4h, 6h (webhooks best-practices page).
    retry_delays: tuple[float, ...] = (10, 20, 30, 300, 1200, 7200, 14400, 21600)
    # QBO wants a 200 within 3 s, otherwise the delivery counts as failed.
    timeout_seconds: float = 3.0


class SandboxConfig(BaseModel):
    """Everything the emulator needs at start-up. Frozen: runtime changes go through the admin
    API and live in the server state, never in this object."""

    model_config = ConfigDict(frozen=True)

    quotas: Quotas = Field(default_factory=Quotas)
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 8_726_400  # 101 days: Intuit's PHP SDK OAuth2AccessToken comment
    refresh_grace_seconds: int = 60
    authorization_code_ttl: int = 300
    client_id: str | None = None
    client_secret: str | None = None
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    default_latency_ms: float = 0.0
    default_profile: Literal["US", "UK", "MULTI"] = "US"
    seed: int | None = None
    request_log_size: int = 100_000
    requestid_memory: int = 10_000
    log_level: str = "warning"
