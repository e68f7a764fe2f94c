"""The one failure taxonomy: what any error met while syncing means for the document.

Every outcome of a sync is done, or one of three states (docs/failures.md lists every reason):

    failed     permanent: the merchant or the operator must act (fix data, a mapping, the
               connection); `resync` clears it. QBO's own fault text is in the message.
    retrying   transient: we wait it out (QBO throttling or an outage, the database or the
               broker being down), without limit, holding back the realm or only the key.
    waiting    the document depends on another one (the invoice a credit note credits);
               stored, and re-synced when that one syncs.

`classify` is the only place an exception becomes a state. It returns None only for an
exception nobody anticipated (a bug): the runtime retries that with capped backoff and logs it
at ERROR, so a document is never dropped because of one.
"""

from __future__ import annotations

import decimal
import sys
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import pydantic
from confluent_kafka import KafkaException

from publishing import PublishFailed
from qbo import errors as qbo_errors
from qbo.build_failure import BuildFailure
from schemas.serde import RegistryUnavailable
from store.db import StoreConflict, StoreError, StoreRejected, StoreUnavailable
from sync import errors as service_errors

if TYPE_CHECKING:
    from store.ledger import DocKey

__all__ = [
    "PAID_IN_QBO_IGNORED",
    "QBO_CODES",
    "Kind",
    "Scope",
    "Verdict",
    "Waiting",
    "classify",
    "failed",
    "retrying",
    "waiting",
]

Kind = Literal["failed", "retrying", "waiting"]
Scope = Literal["realm", "key"]

# QBO asks for 60 s after a 429 when its answer carries no Retry-After.
THROTTLE_WAIT = 60.0
# Notices: reasons announced on qbo.sync_status while the document itself stays synced
# (docs/failures.md#notices). QBO shows paid an invoice Sequence collects through a Stripe link.
PAID_IN_QBO_IGNORED = "paid_in_qbo_ignored"


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    reason: str  # stable snake_case reason code, e.g. "qbo_rejected", "duplicate_doc_number"
    message: str  # for people; QBO's own fault text included when there is one; no secrets
    retry_after: float | None = None  # seconds the other side asked for (429 Retry-After)
    scope: Scope = "key"  # what a retry holds back: the realm (QBO throttling/outage) or the key


def failed(reason: str, message: str) -> Verdict:
    return Verdict("failed", reason, message)


def retrying(
    reason: str, message: str, *, retry_after: float | None = None, scope: Scope = "key"
) -> Verdict:
    return Verdict("retrying", reason, message, retry_after, scope)


def waiting(reason: str, message: str) -> Verdict:
    return Verdict("waiting", reason, message)


class Waiting(Exception):
    """The document depends on another that is not synced yet. `waits_for` names it, so the
    document can be found and woken when that one syncs."""

    def __init__(
        self, message: str, *, reason: str = "invoice_not_synced", waits_for: DocKey | None = None
    ) -> None:
        super().__init__(message)
        self.reason, self.message, self.waits_for = reason, message, waits_for


# Fault code → permanent reason, for the codes QBO documents (docs/failures.md). The 6000 range
# not listed here is `qbo_validation`; any other code is `qbo_rejected`.
QBO_CODES: dict[str, str] = {
    "610": "ref_inactive_or_deleted",
    "5010": "stale_sync_token",  # a second one: the client re-reads and re-applies once
    "6140": "duplicate_doc_number",
    "6210": "account_period_closed",  # a duplicate number under 6210 is classed by its words
    "6240": "duplicate_name",
    "6190": "qbo_company_inactive",
}
_AUTH_CODES = frozenset({"100", "120", "3100", "3200"})
_THROTTLE_CODES = frozenset({"3001"})
# Service reasons that only say "QBO said no": the QBO fault under them says more.
_GENERIC_SERVICE_REASONS = frozenset(
    {
        "qbo_rejected",
        "qbo_object_not_found",
        "qbo_unavailable",
        "not_connected",
        "reauth_required",
        "qbo_auth_failed",
        "qbo_not_configured",
    }
)


def classify(exc: BaseException) -> Verdict | None:
    """The state an exception puts a sync in; None for an exception nobody anticipated."""
    if isinstance(exc, qbo_errors.QboError):
        return _qbo(exc)
    if isinstance(exc, service_errors.ServiceError):
        return _service(exc)
    if isinstance(exc, Waiting):
        return waiting(exc.reason, exc.message)
    return _document(exc) or _infrastructure(exc) or _data(exc)


# -- QBO -----------------------------------------------------------------------------------------
def _qbo(exc: qbo_errors.QboError) -> Verdict:
    text = str(exc)  # message, HTTP status, code, intuit_tid and Detail; auth bodies redacted
    codes = _codes(exc)
    if isinstance(exc, qbo_errors.Throttled) or codes & _THROTTLE_CODES or exc.status == 429:
        after = getattr(exc, "retry_after", None)
        return retrying(
            "qbo_throttled",
            f"QBO is throttling this company: {text}",
            retry_after=THROTTLE_WAIT if after is None else after,
            scope="realm",
        )
    if isinstance(exc, qbo_errors.Retryable):
        return retrying(
            "qbo_unavailable",
            f"QBO cannot answer now: {text}",
            retry_after=exc.retry_after,
            scope="realm",
        )
    if isinstance(exc, qbo_errors.TokenUndecryptable):
        return failed("token_undecryptable", exc.message)
    if isinstance(exc, qbo_errors.ConfigError):
        return failed("qbo_not_configured", f"QBO access is not set up: {text}")
    if isinstance(exc, qbo_errors.AuthError) or codes & _AUTH_CODES or exc.status in (401, 403):
        return failed("qbo_not_connected", f"the account has no usable QBO connection: {text}")
    return failed(_rejection_reason(exc, codes), text)


def _codes(exc: qbo_errors.QboError) -> set[str]:
    found = {item.code for item in exc.errors if item.code}
    return found | {exc.code} if exc.code else found


def _rejection_reason(exc: qbo_errors.QboError, codes: set[str]) -> str:
    by_class: dict[type[qbo_errors.QboError], str] = {
        qbo_errors.NotFound: "ref_inactive_or_deleted",
        qbo_errors.Conflict: "stale_sync_token",
        qbo_errors.DuplicateDocNumber: "duplicate_doc_number",
        qbo_errors.DuplicateName: "duplicate_name",
    }
    for cls, reason in by_class.items():
        if isinstance(exc, cls):
            return reason
    for code in sorted(codes):
        if code in QBO_CODES:
            return QBO_CODES[code]
    if "same currency" in f"{exc.message} {exc.detail}".lower():
        return "currency_mismatch"  # QBO's code for it is not documented; its words are
    if any(code.isdigit() and 6000 <= int(code) < 7000 for code in codes):
        return "qbo_validation"
    return "qbo_rejected"


# -- the service layer (sync.errors) --------------------------------------------------------------
def _service(exc: service_errors.ServiceError) -> Verdict:
    cause = exc.__cause__
    if isinstance(cause, qbo_errors.QboError):
        under = _qbo(cause)
        if under.kind != "failed" or exc.reason in _GENERIC_SERVICE_REASONS:
            # The QBO fault decides the state; the service's sentence says what we were doing.
            after = getattr(exc, "retry_after", None)
            return replace(under, message=exc.message, retry_after=after or under.retry_after)
    if isinstance(exc, service_errors.Unavailable):
        scope: Scope = "realm" if exc.reason.startswith("qbo_") else "key"
        return retrying(exc.reason, exc.message, retry_after=exc.retry_after, scope=scope)
    if isinstance(exc, service_errors.NotConnected):
        reason = "qbo_not_configured" if exc.reason == "qbo_not_configured" else "qbo_not_connected"
        return failed(reason, exc.message)
    return failed(exc.reason, exc.message)


# -- the document sync's own signals ------------------------------------------------------------
def _document(exc: BaseException) -> Verdict | None:
    """`sync.documents` raises these; it imports this module, so it is looked up, not imported
    (if it was never imported, none of its exceptions can exist)."""
    documents = sys.modules.get("sync.documents")
    if documents is None:
        return None
    if isinstance(exc, getattr(documents, "Waiting", ())):
        return waiting(getattr(exc, "reason", "invoice_not_synced"), str(exc))
    if isinstance(exc, getattr(documents, "CustomerNotLinked", ())):
        return failed("customer_not_linked", str(exc))
    return None


# -- infrastructure: the database, the registry, the broker ------------------------------------
def _infrastructure(exc: BaseException) -> Verdict | None:
    # Checked first: a conflict is a kind of StoreUnavailable (transient), with its own reason.
    if isinstance(exc, StoreConflict):
        return retrying("database_conflict", f"a concurrent database change got there first: {exc}")
    if isinstance(exc, StoreUnavailable):
        return retrying("database_unavailable", f"PostgreSQL cannot be reached: {exc}")
    if isinstance(exc, StoreRejected):
        return failed("invalid_value", f"a value does not fit the ledger: {exc}")
    if isinstance(exc, StoreError):
        # A constraint or a query refused it: a defect, kept visible and retried, never lost.
        return retrying("database_error", f"the database refused the change: {exc}")
    if isinstance(exc, RegistryUnavailable):
        return retrying("registry_unavailable", f"the Schema Registry cannot be asked: {exc}")
    if isinstance(exc, PublishFailed | KafkaException):
        return retrying("kafka_unavailable", f"the broker did not acknowledge: {exc}")
    return None


# -- data that cannot be expressed -------------------------------------------------------------
def _data(exc: BaseException) -> Verdict | None:
    if isinstance(exc, BuildFailure):
        return failed(str(exc.reason_code), exc.message)
    if isinstance(exc, decimal.DecimalException):
        return failed("amount_invalid", f"an amount cannot be computed exactly: {exc!r}")
    if isinstance(exc, pydantic.ValidationError):
        return failed("invalid_document", f"the stored snapshot is not valid: {exc}")
    return None
