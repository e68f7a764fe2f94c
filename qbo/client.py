"""`QboClient`: the QBO Accounting API v3 for one realm, as every consumer uses it.

Each call: take an access token, wait for the realm's quota, send with `minorversion=75`,
turn the answer into data or a `QboError`, retry what the policy allows. It runs unchanged
against production, Intuit's sandbox and the emulator; only the base URL differs.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from qbo import _faults, errors, requestids
from qbo.cache import CompanyCache
from qbo.query import MAX_PAGE, Query
from qbo.quota import NoQuota, Quota, both
from qbo.retry import RetryPolicy, jitter
from qbo.tokens import TokenSource
from qbo.transport import Transport

__all__ = ["MINOR_VERSION", "CallCount", "CallHook", "ClientProvider", "QboClient"]

log = logging.getLogger(__name__)

# Since Aug 1 2025 versions below 75 are served as 75 (Intuit blog 2025-01-21); we say so.
MINOR_VERSION = "75"
MAX_BATCH = 30
# Payment and SalesReceipt are voided by a sparse update with include=void, not operation=void
# (python-quickbooks mixins.VoidMixin; Intuit's PHP SDK CoreConstants::VOID_QUERYPARAMETER_*).
_VOID_BY_UPDATE = frozenset({"Payment", "SalesReceipt", "BillPayment"})

# Told (method, path) of every API call, once, before it is sent (its retries are not calls).
CallHook = Callable[[str, str], None]


class QboClient:
    """The API of one realm. Construction does no I/O."""

    def __init__(
        self,
        realm_id: str,
        *,
        base_url: str,
        transport: Transport,
        tokens: TokenSource,
        quota: Quota | None = None,
        policy: RetryPolicy | None = None,
        cache: CompanyCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = jitter,
        answered: Callable[[], None] | None = None,
        batch_quota: Quota | None = None,
    ) -> None:
        self.realm_id = realm_id
        self.answered = answered  # told after each call QBO answered successfully
        self.base = f"{base_url.rstrip('/')}/v3/company/{realm_id}"
        self.transport, self.tokens = transport, tokens
        self.quota: Quota = quota or NoQuota()
        # 40 /batch requests a minute per realm, on top of the request quota each one takes.
        self.batch_quota: Quota = batch_quota or getattr(quota, "batches", None) or NoQuota()
        self.policy = policy or RetryPolicy()
        self.cache = cache or CompanyCache()
        self._sleep, self._rand = sleep, rand
        self.hooks: tuple[CallHook, ...] = ()
        self.sending: tuple[Callable[[], None], ...] = ()

    def observed(self, hook: CallHook) -> QboClient:
        """This client, with `hook` told of every API call it makes (e.g. `CallCount` for one
        document sync); `self` is unchanged, and both share tokens, quota and cache."""
        clone = copy.copy(self)
        clone.hooks = (*self.hooks, hook)
        return clone

    def kept(self, hook: Callable[[], None]) -> QboClient:
        """This client, with `hook` run right before each request leaves: inside its quota
        grant, after any wait for it, and again before every inline retry. A document sync
        renews its lease there, so no quota wait nor retry can outlast the lease unseen; an
        exception the hook raises stops the call and nothing is sent."""
        clone = copy.copy(self)
        clone.sending = (*self.sending, hook)
        return clone

    def kept_only(self, hook: Callable[[], None]) -> QboClient:
        """`kept`, with `hook` in place of this client's own send-time hooks (a /batch sent
        with one document's client keeps every item's lease, not that document's alone)."""
        clone = copy.copy(self)
        clone.sending = (hook,)
        return clone

    # -- entities --------------------------------------------------------------------------

    def get(self, entity: str, entity_id: str) -> dict[str, Any]:
        return self._entity(entity, self.call("GET", f"{entity.lower()}/{entity_id}"))

    def create(self, entity: str, body: Mapping[str, Any], *, request_id: str) -> dict[str, Any]:
        """Creates; `request_id` makes a retry after a lost answer return the first result."""
        answer = self.call("POST", entity.lower(), body=dict(body), request_id=request_id)
        return self._entity(entity, answer)

    def update(
        self,
        entity: str,
        entity_id: str,
        sync_token: str,
        changes: Mapping[str, Any],
        *,
        request_id: str,
        reapply_on_conflict: bool = False,
    ) -> dict[str, Any]:
        """Sparse update (only `changes` are touched). On 5010 (stale SyncToken), with
        `reapply_on_conflict`, re-reads the object and sends the same changes once more."""
        body = {**changes, "Id": entity_id, "SyncToken": sync_token, "sparse": True}
        try:
            return self._entity(
                entity, self.call("POST", entity.lower(), body=body, request_id=request_id)
            )
        except errors.Conflict:
            if not reapply_on_conflict:
                raise
        latest = self.get(entity, entity_id)["SyncToken"]
        log.info(
            "QBO %s %s changed meanwhile (5010); re-applying on SyncToken %s",
            entity,
            entity_id,
            latest,
        )
        return self.update(
            entity,
            entity_id,
            latest,
            changes,
            request_id=requestids.derive(request_id, f"sync{latest}"),
        )

    def void(
        self, entity: str, entity_id: str, sync_token: str, *, request_id: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"Id": entity_id, "SyncToken": sync_token}
        if entity in _VOID_BY_UPDATE:
            params = {"operation": "update", "include": "void"}
            body["sparse"] = True
        else:
            params = {"operation": "void"}
        answer = self.call("POST", entity.lower(), params=params, body=body, request_id=request_id)
        return self._entity(entity, answer)

    def send_invoice(
        self, invoice_id: str, *, request_id: str, to: str | None = None
    ) -> dict[str, Any]:
        """Emails the invoice (`POST /invoice/{id}/send`, an empty octet-stream body)."""
        params = {"sendTo": to} if to else {}
        answer = self.call(
            "POST",
            f"invoice/{invoice_id}/send",
            params=params,
            data="",
            content_type="application/octet-stream",
            request_id=request_id,
        )
        return self._entity("Invoice", answer)

    # -- queries ---------------------------------------------------------------------------

    def query(self, query: Query, *, page_size: int = MAX_PAGE) -> Iterator[dict[str, Any]]:
        """Every matching entity, fetching page after page (STARTPOSITION is 1-based)."""
        start = 1
        while True:
            page = self._query_text(query.select(start=start, max_results=page_size))
            rows = page.get(query.entity, [])
            yield from rows
            if len(rows) < page_size:
                return
            start += len(rows)

    def count(self, query: Query) -> int:
        return int(self._query_text(query.count()).get("totalCount", 0))

    def _query_text(self, text: str) -> Mapping[str, Any]:
        # POST with application/text: no URL length limit for long IN lists (python-quickbooks
        # does this).
        answer = self.call("POST", "query", data=text, content_type="application/text")
        return answer.get("QueryResponse") or {}

    def cdc(self, entities: Sequence[str], changed_since: dt.datetime) -> dict[str, list[Any]]:
        """Changed (and deleted: `status: "Deleted"`) objects per entity. QBO looks back at most
        30 days and returns at most 1000 objects in all: narrow the window if that is reached."""
        if changed_since.tzinfo is None:
            raise ValueError("changed_since needs a timezone")
        params = {"entities": ",".join(entities), "changedSince": changed_since.isoformat()}
        answer = self.call("GET", "cdc", params=params)
        found: dict[str, list[Any]] = {name: [] for name in entities}
        for block in answer.get("CDCResponse") or []:
            for response in block.get("QueryResponse") or []:
                for name in entities:
                    found[name].extend(response.get(name) or [])
        return found

    def batch(
        self, items: Sequence[Mapping[str, Any]], *, request_id: str
    ) -> dict[str, dict[str, Any] | errors.QboError]:
        """Up to 30 items (`{"bId", "operation", "<Entity>": {...}}` or `{"bId", "Query"}`);
        bId → the item's result, or its error. Items run serially, and a later item does not
        see what an earlier one created (Intuit blog, 2017-07-27)."""
        if not 0 < len(items) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} items")
        answer = self.call(
            "POST",
            "batch",
            body={"BatchItemRequest": list(items)},
            request_id=requestids.check(request_id, batch=True),
            batch=True,
        )
        out: dict[str, dict[str, Any] | errors.QboError] = {}
        for item in answer.get("BatchItemResponse") or []:
            fault = item.get("Fault")
            out[str(item.get("bId"))] = _faults.fault_error(fault) if fault else item
        return out

    # -- company ---------------------------------------------------------------------------

    def exchange_rate(self, currency: str, as_of: dt.date) -> dict[str, Any]:
        """Home-currency units per 1 `currency` on `as_of` (multicurrency companies only)."""
        params = {"sourcecurrencycode": currency, "asofdate": as_of.isoformat()}
        return self._entity("ExchangeRate", self.call("GET", "exchangerate", params=params))

    def preferences(self) -> dict[str, Any]:
        return self.cache.get(
            self.realm_id,
            "Preferences",
            lambda: self._entity("Preferences", self.call("GET", "preferences")),
        )

    def company_info(self) -> dict[str, Any]:
        return self.cache.get(
            self.realm_id,
            "CompanyInfo",
            lambda: self._entity("CompanyInfo", self.call("GET", f"companyinfo/{self.realm_id}")),
        )

    # -- the call --------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        data: str | None = None,
        content_type: str | None = None,
        request_id: str | None = None,
        batch: bool = False,
    ) -> dict[str, Any]:
        """One API call with retries. A POST is repeated only when it has a `request_id`.
        `batch`: a /batch request (each attempt takes a grant of the batch quota too)."""
        for hook in self.hooks:
            hook(method, path)
        query = {**(params or {}), "minorversion": MINOR_VERSION}
        if request_id is not None:
            query["requestid"] = requestids.check(request_id, batch=batch)
        headers = {"Content-Type": content_type} if content_type else {}
        repeatable = method == "GET" or request_id is not None or path == "query"
        send = lambda token: self._send(  # noqa: E731
            method, path, query, body, data, headers, token, batch
        )
        return self._with_retries(send, repeatable, f"{method} {path}")

    def _with_retries(
        self, send: Callable[[str], dict[str, Any]], repeatable: bool, what: str
    ) -> dict[str, Any]:
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            token = self.tokens.access_token()
            try:
                result = send(token)
                if self.answered is not None:
                    self.answered()
                return result
            except errors.AuthError as exc:
                # One refresh after a 401: the token may have expired early or been revoked.
                if refreshed or exc.status != 401:
                    raise
                refreshed = True
                self.tokens.refresh(stale=token)
            except errors.Retryable as exc:
                wait = self.policy.wait(exc, attempt, repeatable=repeatable, rand=self._rand())
                if wait is None:
                    if exc.retry_after is None:
                        exc.retry_after = self.policy.advise(exc)
                    raise
                log.warning("QBO %s failed (%s); retry %d in %.2fs", what, exc, attempt, wait)
                self._sleep(wait)

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: Any,
        data: str | None,
        headers: Mapping[str, str],
        token: str,
        batch: bool = False,
    ) -> dict[str, Any]:
        # A batch takes a grant of the realm's batch window too, both fresh when it leaves
        # and no request slot held while the window is full (qbo.quota.both).
        with both(self.batch_quota, self.quota) if batch else self.quota.slot():
            for hook in self.sending:
                hook()
            answer = self.transport.send(
                method,
                f"{self.base}/{path}",
                params=query,
                json_body=body,
                data=data,
                headers={**headers, "Authorization": f"Bearer {token}"},
            )
        error = _faults.error_for(
            answer.status,
            answer.body,
            answer.headers,
            text=answer.text,
            intuit_tid=answer.intuit_tid,
        )
        if error is not None:
            raise error
        if not isinstance(answer.body, dict):
            raise errors.ServerError(
                "QBO answered 200 without a JSON object",
                status=answer.status,
                intuit_tid=answer.intuit_tid,
            )
        return answer.body

    @staticmethod
    def _entity(name: str, answer: Mapping[str, Any]) -> dict[str, Any]:
        found = answer.get(name)
        if not isinstance(found, dict):
            raise errors.ServerError(f"QBO's answer holds no {name}")
        return found


class ClientProvider(Protocol):
    """Account id → a client bound to the realm of the account's connection
    (`qbo.connection.ClientFactory` is one). Raises `errors.NotConnected` or
    `errors.ReauthRequired` when the account has no usable connection."""

    def __call__(self, account_id: str, /) -> QboClient: ...


class CallCount:
    """A `CallHook` that counts: the QBO calls of one document sync, recorded in the ledger
    (calls per invoice is a headline figure). Preferences and CompanyInfo come from the
    per-realm cache, so they count only when they are actually fetched."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, _method: str, _path: str) -> None:
        self.calls += 1
