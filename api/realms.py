"""Realm → Sequence account: which merchant a webhook notice belongs to.

The app takes the lookup as a plain callable so it does not depend on how connections are
stored; `AccountForRealm` is the production one, over the `qbo_connections` table (migration
0002, owned by the connections work).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from api.errors import LookupUnavailable
from store import connections
from store.db import Database, StoreError, StoreSchemaMissing

log = logging.getLogger(__name__)

__all__ = ["AccountForRealm", "RealmLookup", "cached", "from_mapping"]

# realm id → account id, or None when no account has connected that realm.
RealmLookup = Callable[[str], str | None]


def from_mapping(accounts: Mapping[str, str]) -> RealmLookup:
    """A fixed lookup (tests, benchmarks)."""
    return accounts.get


class AccountForRealm:
    """The `account_for_realm` query (store/sql/webhooks.sql)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __call__(self, realm_id: str) -> str | None:
        try:
            row = self._db.one("account_for_realm", {"realm_id": realm_id})
        except StoreSchemaMissing as exc:
            raise LookupUnavailable(
                "table qbo_connections does not exist: migration 0002 (connections) is not "
                "applied; run `sequence-qbo db migrate`"
            ) from exc
        except StoreError as exc:
            raise LookupUnavailable(f"cannot look up realm {realm_id}: {exc}") from exc
        if row is None:
            return None
        self._seen(realm_id)
        return str(row["account_id"])

    def _seen(self, realm_id: str) -> None:
        """A signed webhook named the realm: the connection's `last_webhook_at` (health only;
        at most once per lookup, which `cached` makes once per few seconds)."""
        try:
            connections.record_webhook(self._db, realm_id)
        except StoreError as exc:
            log.warning("could not record the webhook of realm %s: %s", realm_id, exc)


def cached(
    lookup: RealmLookup, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic
) -> RealmLookup:
    """`lookup` with answers (including "nobody") kept for `ttl` seconds.

    Connections change rarely, and every webhook would otherwise cost a database round trip
    (a third of the receiver's database work). A realm connected a moment ago may thus be
    ignored for up to `ttl`; the CDC poller's overlap covers that window.
    """
    answers: dict[str, tuple[float, str | None]] = {}
    lock = threading.Lock()

    def cached_lookup(realm_id: str) -> str | None:
        with lock:
            hit = answers.get(realm_id)
        if hit is not None and clock() - hit[0] < ttl:
            return hit[1]
        account = lookup(realm_id)  # errors are not cached: the next request asks again
        with lock:
            answers[realm_id] = (clock(), account)
        return account

    return cached_lookup
