"""Everything the running emulator holds; one instance per app, no globals."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from sandbox import profiles
from sandbox.chaos import Chaos
from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.quotas import Limiter
from sandbox.realm import Realm
from sandbox.requestlog import RequestLog
from sandbox.tokens import TokenStore
from sandbox.webhooks import Dispatcher


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = Clock()
        self.realms: dict[str, Realm] = {}
        self.tokens = TokenStore(config, self.clock)
        self.quotas = Limiter(config.quotas)
        self.chaos = Chaos(config.default_latency_ms, config.seed)
        self.log = RequestLog(config.request_log_size)
        self.webhooks = Dispatcher(config.webhook)

    def reset(self) -> None:
        self.realms.clear()
        self.clock.offset = 0.0
        self.tokens = TokenStore(self.config, self.clock)
        self.quotas.reset()
        self.chaos.reset()
        self.log.clear()
        self.webhooks.reset()

    def create_realm(
        self,
        profile: str,
        realm_id: str | None = None,
        custom_txn_numbers: bool = True,
        enforce_unique_doc_number: bool = True,
    ) -> Realm:
        profile = profile.upper()
        if profile not in profiles.PROFILES:
            raise ValueError(f"unknown profile {profile}; choose from {profiles.PROFILES}")
        # Realm ids look like Intuit's: 16 to 19 digits.
        ident = realm_id or str(9130350000000000 + secrets.randbelow(10**15))
        if ident in self.realms:
            raise ValueError(f"realm {ident} exists")
        realm = Realm(
            ident,
            profile,
            profiles.home_currency(profile),
            clock=self.clock,
            enforce_unique_doc_number=enforce_unique_doc_number,
        )
        profiles.seed(realm, self.clock.now(), custom_txn_numbers)
        realm.listener = self.webhooks.on_change
        self.realms[ident] = realm
        return realm

    def realm_for_authorize(self, realm_id: str | None, profile: str | None) -> Realm:
        """The company the auto-approving consent screen picks: the one asked for, else the
        newest, else a fresh one with the default profile."""
        if realm_id and realm_id in self.realms:
            return self.realms[realm_id]
        if realm_id or profile or not self.realms:
            return self.create_realm(profile or self.config.default_profile, realm_id or None)
        return list(self.realms.values())[-1]

    def client_allowed(self, client_id: str, secret: str | None) -> bool:
        """Any client is accepted unless the emulator was configured with one."""
        if self.config.client_id is None:
            return True
        ok = hmac.compare_digest(client_id, self.config.client_id)
        if secret is not None and self.config.client_secret is not None:
            ok = ok and hmac.compare_digest(secret, self.config.client_secret)
        return ok

    def describe(self, realm: Realm) -> dict[str, Any]:
        return {
            "realm_id": realm.id,
            "profile": realm.profile,
            "home_currency": realm.home_currency,
            "multicurrency": realm.multicurrency,
            "custom_txn_numbers": realm.custom_txn_numbers,
            "enforce_unique_doc_number": realm.enforce_unique_doc_number,
            "quotas": self.quotas.quotas(realm.id).model_dump(),
        }
