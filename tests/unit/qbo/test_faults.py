"""Table-driven: every shape of QBO error body → the right class, code, message, retry wait."""

from __future__ import annotations

import pytest

from qbo import _faults, errors


def api_fault(code: str, message: str, detail: str = "", type_: str = "ValidationFault") -> dict:
    return {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}],
            "type": type_,
        },
        "time": "2025-11-01T00:00:00",
    }


def gateway_fault(code: str, key: str, status: int, detail: str, type_: str) -> dict:
    error = {
        "message": f"message={key}; errorCode=00{code}; statusCode={status}",
        "detail": detail,
        "code": code,
        "element": None,
    }
    return {"warnings": None, "fault": {"error": [error], "type": type_}, "time": 1}


CASES = [
    # (status, body, text, expected class, expected code)
    (
        400,
        api_fault("5010", "Stale Object Error", "You and X were working on this at the same time."),
        "",
        errors.Conflict,
        "5010",
    ),
    (
        400,
        api_fault("6240", "Duplicate Name Exists Error", "The name supplied already exists."),
        "",
        errors.DuplicateName,
        "6240",
    ),
    (
        400,
        api_fault("6210", "Duplicate Document Number Error"),
        "",
        errors.DuplicateDocNumber,
        "6210",
    ),
    (400, api_fault("610", "Object Not Found"), "", errors.NotFound, "610"),
    (
        400,
        api_fault(
            "6000", "A business validation error has occurred", "Business Validation Error: x"
        ),
        "",
        errors.Validation,
        "6000",
    ),
    (400, api_fault("6190", "Invalid Company Status"), "", errors.Validation, "6190"),
    (400, api_fault("4000", "Error parsing query"), "", errors.Validation, "4000"),
    # A 200 can still carry a Fault (Intuit's error-codes page).
    (200, api_fault("6240", "Duplicate Name Exists Error"), "", errors.DuplicateName, "6240"),
    (
        500,
        api_fault("10000", "An application error has occurred", "", "SystemFault"),
        "",
        errors.ServerError,
        "10000",
    ),
    (
        200,
        api_fault("10000", "An application error has occurred", "", "SystemFault"),
        "",
        errors.ServerError,
        "10000",
    ),
    # The gateway's lowercase envelope.
    (
        401,
        gateway_fault(
            "3200", "AuthenticationFailed", 401, "Token expired: eyJlbmMiOiJB...", "AUTHENTICATION"
        ),
        "",
        errors.AuthError,
        "3200",
    ),
    (
        403,
        gateway_fault("3100", "ApplicationAuthorizationFailed", 403, "no", "AUTHORIZATION"),
        "",
        errors.AuthError,
        "3100",
    ),
    (
        429,
        gateway_fault(
            "3001",
            "ThrottleExceeded",
            429,
            "The request limit was reached.  Try again later",
            "SERVICE",
        ),
        "",
        errors.Throttled,
        "3001",
    ),
    # 2016: throttling answered with 403 (quickbooks-ruby's throttle_exceeded_error.xml).
    (
        403,
        gateway_fault("3001", "ThrottleExceeded", 403, "limit", "SERVICE"),
        "",
        errors.Throttled,
        "3001",
    ),
    (
        401,
        api_fault("100", "General Authentication Error", "", "AuthenticationFault"),
        "",
        errors.AuthError,
        "100",
    ),
    (
        401,
        api_fault("120", "Authorization Failure", "", "AuthorizatonFault"),
        "",
        errors.AuthError,
        "120",
    ),
    # Non-JSON bodies.
    (
        401,
        None,
        "<?xml version='1.0'?><IntuitResponse><Fault/></IntuitResponse>",
        errors.AuthError,
        None,
    ),
    (
        503,
        None,
        "<html><body><h1>503 Service Unavailable</h1></body></html>",
        errors.ServerError,
        None,
    ),
    (502, None, "", errors.ServerError, None),
    (429, None, "", errors.Throttled, None),
    (404, None, "Not Found", errors.Validation, None),
]


@pytest.mark.parametrize(("status", "body", "text", "cls", "code"), CASES)
def test_classification(status, body, text, cls, code) -> None:
    err = _faults.error_for(status, body, {}, text=text, intuit_tid="tid-1")
    assert type(err) is cls
    assert err.code == code
    assert err.status == status
    assert err.intuit_tid == "tid-1"
    assert f"HTTP {status}" in str(err) and "intuit_tid tid-1" in str(err)
    if code:
        assert f"code {code}" in str(err)


def test_success_is_not_an_error() -> None:
    assert _faults.error_for(200, {"Customer": {"Id": "1"}}, {}) is None
    assert _faults.error_for(200, None, {}, text="") is None


def test_validation_keeps_message_and_detail() -> None:
    err = _faults.error_for(
        400, api_fault("2050", "String length is wrong", "Max:21 supported. Supplied length:30"), {}
    )
    assert isinstance(err, errors.Validation)
    assert err.message == "String length is wrong"
    assert err.detail == "Max:21 supported. Supplied length:30"
    assert "Max:21 supported" in str(err)


def test_retry_after_header_is_kept() -> None:
    err = _faults.error_for(429, None, {"Retry-After": "7"})
    assert isinstance(err, errors.Throttled) and err.retry_after == 7.0
    err = _faults.error_for(429, None, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert err.retry_after is None


def test_auth_errors_never_carry_a_token() -> None:
    token = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2Ijoi5kq3Xk2abcDEF0123456789"
    body = gateway_fault(
        "3200", "AuthenticationFailed", 401, f"Token invalid: {token}", "AUTHENTICATION"
    )
    err = _faults.error_for(401, body, {})
    assert token not in str(err) and token not in repr(err.errors)
    assert token[:12] not in str(err)
    assert "AuthenticationFailed" in str(err)


def test_auth_errors_do_not_echo_non_json_bodies() -> None:
    err = _faults.error_for(401, None, {}, text="<xml>secret-ish</xml>")
    assert "secret-ish" not in str(err)


def test_batch_item_fault() -> None:
    err = _faults.fault_error(api_fault("6240", "Duplicate Name Exists Error")["Fault"])
    assert isinstance(err, errors.DuplicateName) and err.status is None


def test_every_error_is_a_qbo_error() -> None:
    for cls in (
        errors.Retryable,
        errors.Throttled,
        errors.ServerError,
        errors.TransportError,
        errors.Conflict,
        errors.DuplicateName,
        errors.DuplicateDocNumber,
        errors.NotFound,
        errors.Validation,
        errors.AuthError,
        errors.ReauthRequired,
        errors.NotConnected,
        errors.ConfigError,
    ):
        assert issubclass(cls, errors.QboError)
