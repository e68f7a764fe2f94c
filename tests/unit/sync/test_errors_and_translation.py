"""QBO errors become service errors in one place, each with its reason, status and exit code."""

from __future__ import annotations

import pytest

from qbo import errors as qbo
from sync import _qbo
from sync.errors import (
    Conflict,
    CustomerNotLinked,
    Invalid,
    NotConnected,
    NotFound,
    ServiceError,
    Unavailable,
)


@pytest.mark.parametrize(
    "raised, kind, reason",
    [
        (qbo.Throttled("slow down", status=429, retry_after=60), Unavailable, "qbo_unavailable"),
        (qbo.TransportError("timeout"), Unavailable, "qbo_unavailable"),
        (qbo.ReauthRequired("invalid_grant"), NotConnected, "reauth_required"),
        (qbo.NotConnected("no connection"), NotConnected, "not_connected"),
        (qbo.AuthError("401", status=401), NotConnected, "qbo_auth_failed"),
        (qbo.ConfigError("no key"), NotConnected, "qbo_not_configured"),
        (qbo.DuplicateName("dup", status=400, code="6240"), Conflict, "duplicate_name"),
        (qbo.NotFound("gone", status=400, code="610"), NotFound, "qbo_object_not_found"),
        (qbo.Validation("bad", status=400, code="6000"), Invalid, "qbo_rejected"),
        (qbo.Conflict("stale", status=400, code="5010"), Invalid, "qbo_rejected"),
    ],
)
def test_each_qbo_error_maps_to_one_service_error(
    raised: qbo.QboError, kind: type[ServiceError], reason: str
) -> None:
    with pytest.raises(kind) as caught, _qbo.translated("do it"):
        raise raised
    assert caught.value.reason == reason and caught.value.__cause__ is raised
    assert str(raised) in caught.value.message


def test_retry_after_is_kept() -> None:
    with pytest.raises(Unavailable) as caught, _qbo.translated("x"):
        raise qbo.Throttled("slow", status=429, retry_after=60)
    assert caught.value.retry_after == 60


@pytest.mark.parametrize(
    "error, status, code",
    [
        (Invalid("r", "m"), 422, 2),
        (NotFound("r", "m"), 404, 4),
        (Conflict("r", "m"), 409, 5),
        (CustomerNotLinked("m"), 409, 5),
        (NotConnected("r", "m"), 409, 6),
        (Unavailable("r", "m"), 503, 75),
    ],
)
def test_status_and_exit_codes(error: ServiceError, status: int, code: int) -> None:
    assert (error.http_status, error.exit_code) == (status, code)


def test_as_dict_is_the_api_error_body() -> None:
    error = Conflict("duplicate_name", "QBO already has …", existing={"id": "58"})
    assert error.as_dict() == {
        "reason": "duplicate_name",
        "message": "QBO already has …",
        "details": {"existing": {"id": "58"}},
    }
    assert CustomerNotLinked("x", customer_id="c").reason == "customer_not_linked"
