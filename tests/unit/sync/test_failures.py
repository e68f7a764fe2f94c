"""The failure taxonomy (sync/failures.py): every error a sync can meet has one state and
one reason code, and QBO's errors are built from QBO-shaped answers, as the client sees them."""

from __future__ import annotations

import decimal
from typing import Any

import psycopg
import pydantic
import pytest
from confluent_kafka import KafkaError, KafkaException

from qbo import _faults
from qbo import errors as qbo_errors
from qbo.build_failure import BuildFailure, Reason
from qbo.crypto import TokenCipher
from schemas.models import Invoice
from schemas.serde import RegistryUnavailable
from store.db import StoreError, StoreUnavailable, converted
from sync import _qbo, failures
from sync import errors as service_errors
from sync.failures import Verdict, classify


def _fault(code: str, message: str, detail: str = "", status: int = 400) -> qbo_errors.QboError:
    body = {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code}],
            "type": "ValidationFault",
        }
    }
    err = _faults.error_for(status, body, {}, intuit_tid="tid-1")
    assert err is not None
    return err


def _gateway(status: int, code: str, headers: dict[str, str] | None = None) -> qbo_errors.QboError:
    body = {"fault": {"error": [{"message": f"errorCode={code}", "code": code}], "type": "SERVICE"}}
    err = _faults.error_for(status, body, headers or {})
    assert err is not None
    return err


def _answer(status: int, body: Any, headers: dict[str, str], text: str = "") -> qbo_errors.QboError:
    err = _faults.error_for(status, body, headers, text=text)
    assert err is not None
    return err


def _translated(exc: Exception, what: str = "create invoice 1") -> service_errors.ServiceError:
    """What the service layer raises for `exc` (sync._qbo.translated)."""
    try:
        with _qbo.translated(what):
            raise exc
    except service_errors.ServiceError as service:
        return service
    raise AssertionError("not translated")


CURRENCY = "The transaction needs to be in the same currency as the A/R and A/P accounts you use."
SYSTEM_FAULT = {"Fault": {"Error": [{"Message": "x"}], "type": "SystemFault"}}

# (case, exception, kind, reason, scope)
QBO_CASES: list[tuple[str, Exception, str, str, str]] = [
    (
        "610 inactive ref",
        _fault("610", "Object Not Found"),
        "failed",
        "ref_inactive_or_deleted",
        "key",
    ),
    ("5010 stale twice", _fault("5010", "Stale Object Error"), "failed", "stale_sync_token", "key"),
    (
        "6140 duplicate DocNumber",
        _fault("6140", "Duplicate Doc Num"),
        "failed",
        "duplicate_doc_number",
        "key",
    ),
    (
        "6210 duplicate DocNumber",
        _fault("6210", "Duplicate Document Number Error"),
        "failed",
        "duplicate_doc_number",
        "key",
    ),
    (
        "6210 books closed",
        _fault("6210", "Account Period Closed, cannot update through Services API"),
        "failed",
        "account_period_closed",
        "key",
    ),
    (
        "6240 duplicate name",
        _fault("6240", "Duplicate Name Exists Error"),
        "failed",
        "duplicate_name",
        "key",
    ),
    (
        "6190 lapsed subscription",
        _fault("6190", "Invalid Company Status"),
        "failed",
        "qbo_company_inactive",
        "key",
    ),
    (
        "6000 business validation",
        _fault("6000", "A business validation error has occurred"),
        "failed",
        "qbo_validation",
        "key",
    ),
    (
        "6430 other 6000-range",
        _fault("6430", "Invalid account type"),
        "failed",
        "qbo_validation",
        "key",
    ),
    (
        "currency words",
        _fault("6000", "Business Validation Error", CURRENCY),
        "failed",
        "currency_mismatch",
        "key",
    ),
    ("unknown code", _fault("2500", "Invalid Reference Id"), "failed", "qbo_rejected", "key"),
    (
        "no code at all",
        qbo_errors.Validation("something odd", status=400),
        "failed",
        "qbo_rejected",
        "key",
    ),
    ("401 gateway 3200", _gateway(401, "3200"), "failed", "qbo_not_connected", "key"),
    (
        "401 general 100",
        _fault("100", "General Authentication Error", status=401),
        "failed",
        "qbo_not_connected",
        "key",
    ),
    ("403 authorization 3100", _gateway(403, "3100"), "failed", "qbo_not_connected", "key"),
    (
        "403 120",
        _fault("120", "Authorization Failure", status=403),
        "failed",
        "qbo_not_connected",
        "key",
    ),
    (
        "not connected",
        qbo_errors.NotConnected("account acct_1 has no connection"),
        "failed",
        "qbo_not_connected",
        "key",
    ),
    (
        "refresh refused",
        qbo_errors.ReauthRequired("invalid_grant"),
        "failed",
        "qbo_not_connected",
        "key",
    ),
    ("no client id", qbo_errors.ConfigError("no client id"), "failed", "qbo_not_configured", "key"),
    ("429", _gateway(429, "3001", {"Retry-After": "60"}), "retrying", "qbo_throttled", "realm"),
    ("403 with 3001 (old throttle)", _gateway(403, "3001"), "retrying", "qbo_throttled", "realm"),
    ("500", _answer(500, None, {}, text="oops"), "retrying", "qbo_unavailable", "realm"),
    (
        "503",
        _answer(503, None, {"Retry-After": "7"}, text="down"),
        "retrying",
        "qbo_unavailable",
        "realm",
    ),
    (
        "SystemFault on 200",
        _answer(200, SYSTEM_FAULT, {}),
        "retrying",
        "qbo_unavailable",
        "realm",
    ),
    (
        "timeout",
        qbo_errors.TransportError("read timed out"),
        "retrying",
        "qbo_unavailable",
        "realm",
    ),
]


@pytest.mark.parametrize(
    ("exc", "kind", "reason", "scope"),
    [case[1:] for case in QBO_CASES],
    ids=[case[0] for case in QBO_CASES],
)
def test_every_qbo_fault_has_a_state_and_a_reason(
    exc: Exception, kind: str, reason: str, scope: str
) -> None:
    verdict = classify(exc)
    assert verdict is not None
    assert (verdict.kind, verdict.reason, verdict.scope) == (kind, reason, scope)
    assert verdict.message


@pytest.mark.parametrize("code", sorted(failures.QBO_CODES))
def test_every_listed_code_reaches_its_reason_even_as_a_plain_validation(code: str) -> None:
    # The client maps some codes to classes; the taxonomy must not depend on that.
    exc = qbo_errors.Validation("fault", status=400, code=code)
    verdict = classify(exc)
    assert verdict == Verdict("failed", failures.QBO_CODES[code], str(exc))


def test_the_rejection_keeps_qbos_own_words() -> None:
    exc = _fault("6000", "A business validation error", "Business Validation Error: Txn Date bad")
    verdict = classify(exc)
    assert verdict is not None
    assert "Txn Date bad" in verdict.message and "code 6000" in verdict.message
    assert "tid-1" in verdict.message  # Intuit support asks for the intuit_tid


def test_a_throttle_asks_for_the_retry_after_qbo_gave_or_a_minute() -> None:
    told = classify(_gateway(429, "3001", {"Retry-After": "17"}))
    untold = classify(_gateway(429, "3001"))
    assert told is not None and told.retry_after == 17.0
    assert untold is not None and untold.retry_after == failures.THROTTLE_WAIT


def test_an_auth_fault_never_carries_a_token() -> None:
    body = {
        "fault": {
            "error": [{"message": "Token expired: eyJlbmMiOiJBMTI4Q0JDLUhTMjU2...", "code": "3200"}]
        }
    }
    exc = _answer(401, body, {})
    verdict = classify(exc)
    assert verdict is not None and "eyJlbmMiOiJB" not in verdict.message


def test_a_token_that_cannot_be_decrypted_fails_at_once() -> None:
    from cryptography.fernet import Fernet

    blob = TokenCipher(Fernet.generate_key().decode()).encrypt("refresh-token-value")
    with pytest.raises(qbo_errors.QboError) as raised:
        TokenCipher(Fernet.generate_key().decode()).decrypt(blob)
    verdict = classify(raised.value)
    assert verdict is not None
    assert (verdict.kind, verdict.reason) == ("failed", "token_undecryptable")
    assert "refresh-token-value" not in verdict.message


# -- service errors: the QBO fault under a translation decides, the service's words explain ----
SERVICE_CASES: list[tuple[str, Exception, str, str, str]] = [
    (
        "429 under auto-create",
        _translated(_gateway(429, "3001", {"Retry-After": "30"})),
        "retrying",
        "qbo_throttled",
        "realm",
    ),
    (
        "5xx under a service",
        _translated(_answer(502, None, {}, text="bad gateway")),
        "retrying",
        "qbo_unavailable",
        "realm",
    ),
    (
        "broker down",
        service_errors.Unavailable("kafka_unavailable", "broker did not ack"),
        "retrying",
        "kafka_unavailable",
        "key",
    ),
    (
        "6000 under a service",
        _translated(_fault("6000", "Business validation")),
        "failed",
        "qbo_validation",
        "key",
    ),
    (
        "unknown fault under a service",
        _translated(_fault("2500", "Invalid Reference Id")),
        "failed",
        "qbo_rejected",
        "key",
    ),
    (
        "610 under a service",
        _translated(_fault("610", "Object Not Found")),
        "failed",
        "ref_inactive_or_deleted",
        "key",
    ),
    (
        "duplicate name",
        _translated(_fault("6240", "Duplicate Name Exists Error")),
        "failed",
        "duplicate_name",
        "key",
    ),
    (
        "reauth",
        _translated(qbo_errors.ReauthRequired("invalid_grant")),
        "failed",
        "qbo_not_connected",
        "key",
    ),
    (
        "undecryptable under a service",
        _translated(qbo_errors.TokenUndecryptable("key changed")),
        "failed",
        "token_undecryptable",
        "key",
    ),
    (
        "realm changed",
        service_errors.Conflict("realm_changed", "linked in another company"),
        "failed",
        "realm_changed",
        "key",
    ),
    (
        "not linked",
        service_errors.CustomerNotLinked("cus_1 is not linked"),
        "failed",
        "customer_not_linked",
        "key",
    ),
    (
        "currency",
        service_errors.Invalid("currency_mismatch", "bills in EUR"),
        "failed",
        "currency_mismatch",
        "key",
    ),
    (
        "not connected",
        service_errors.NotConnected("not_connected", "no connection"),
        "failed",
        "qbo_not_connected",
        "key",
    ),
]


@pytest.mark.parametrize(
    ("exc", "kind", "reason", "scope"),
    [case[1:] for case in SERVICE_CASES],
    ids=[case[0] for case in SERVICE_CASES],
)
def test_service_errors(exc: Exception, kind: str, reason: str, scope: str) -> None:
    verdict = classify(exc)
    assert verdict is not None
    assert (verdict.kind, verdict.reason, verdict.scope) == (kind, reason, scope)
    assert verdict.message == getattr(exc, "message", None)


def test_a_throttle_under_a_service_keeps_its_retry_after() -> None:
    verdict = classify(_translated(_gateway(429, "3001", {"Retry-After": "30"})))
    assert verdict is not None and verdict.retry_after == 30.0


# -- everything else -----------------------------------------------------------------------------
def _validation_error() -> pydantic.ValidationError:
    try:
        Invoice.model_validate({"id": "inv_1"})
    except pydantic.ValidationError as exc:
        return exc
    raise AssertionError("validated")


def _stored(exc: psycopg.Error) -> StoreError:
    """What the store raises for a psycopg error (every one is converted there)."""
    try:
        with converted():
            raise exc
    except StoreError as stored:
        return stored
    raise AssertionError("not converted")


OTHER_CASES: list[tuple[str, BaseException, str, str, str]] = [
    (
        "store down",
        StoreUnavailable("connection refused"),
        "retrying",
        "database_unavailable",
        "key",
    ),
    (
        "pool timeout",
        _stored(psycopg.OperationalError("couldn't get a connection after 30.00 sec")),
        "retrying",
        "database_unavailable",
        "key",
    ),
    (
        "deadlock",
        _stored(psycopg.errors.DeadlockDetected("deadlock detected")),
        "retrying",
        "database_conflict",
        "key",
    ),
    (
        "serialization",
        _stored(psycopg.errors.SerializationFailure("could not serialize")),
        "retrying",
        "database_conflict",
        "key",
    ),
    ("other store error", StoreError("odd"), "retrying", "database_error", "key"),
    (
        "registry down",
        RegistryUnavailable("connection refused"),
        "retrying",
        "registry_unavailable",
        "key",
    ),
    (
        "broker",
        KafkaException(KafkaError(KafkaError._TRANSPORT)),
        "retrying",
        "kafka_unavailable",
        "key",
    ),
    (
        "waiting",
        failures.Waiting("credit note cn_1 waits for invoice inv_1"),
        "waiting",
        "invoice_not_synced",
        "key",
    ),
    (
        "build failure",
        BuildFailure(Reason.ITEM_NOT_MAPPED, "product p_1 has no QBO item"),
        "failed",
        "item_not_mapped",
        "key",
    ),
    (
        "absurd amount",
        decimal.InvalidOperation([decimal.InvalidOperation]),
        "failed",
        "amount_invalid",
        "key",
    ),
    (
        "numeric overflow",
        _stored(psycopg.errors.NumericValueOutOfRange("numeric field overflow")),
        "failed",
        "invalid_value",
        "key",
    ),
    ("bad snapshot", _validation_error(), "failed", "invalid_document", "key"),
    (
        "value refused by the store",
        _stored(psycopg.errors.NumericValueOutOfRange("overflow")),
        "failed",
        "invalid_value",
        "key",
    ),
    (
        "deadlock in the store",
        _stored(psycopg.errors.DeadlockDetected("deadlock")),
        "retrying",
        "database_conflict",
        "key",
    ),
    (
        "constraint in the store",
        _stored(psycopg.errors.CheckViolation("check")),
        "retrying",
        "database_error",
        "key",
    ),
]


@pytest.mark.parametrize(
    ("exc", "kind", "reason", "scope"),
    [case[1:] for case in OTHER_CASES],
    ids=[case[0] for case in OTHER_CASES],
)
def test_infrastructure_and_data(exc: BaseException, kind: str, reason: str, scope: str) -> None:
    verdict = classify(exc)
    assert verdict is not None
    assert (verdict.kind, verdict.reason, verdict.scope) == (kind, reason, scope)


def test_the_document_syncs_own_signals_are_known() -> None:
    from sync import documents

    assert classify(documents.Waiting("void of inv_1 waits")) == Verdict(
        "waiting", "invoice_not_synced", "void of inv_1 waits"
    )
    verdict = classify(documents.CustomerNotLinked("cus_1 is not linked"))
    assert verdict is not None and verdict.reason == "customer_not_linked"


def test_a_waiting_document_says_what_it_waits_for() -> None:
    from store.ledger import DocKey, DocumentType

    invoice = DocKey("acct_1", DocumentType.INVOICE, "inv_1")
    exc = failures.Waiting("waits", reason="invoice_not_synced", waits_for=invoice)
    assert exc.waits_for == invoice and classify(exc) == failures.waiting(
        "invoice_not_synced", "waits"
    )


@pytest.mark.parametrize("exc", [KeyError("x"), ValueError("bug"), AttributeError("nope")])
def test_an_exception_nobody_anticipated_is_left_to_the_runtime(exc: Exception) -> None:
    assert classify(exc) is None


def test_reason_codes_are_snake_case() -> None:
    every: list[Any] = [c[3] for c in QBO_CASES + SERVICE_CASES + OTHER_CASES]
    assert all(r.replace("_", "").isalnum() and r == r.lower() for r in every)
