"""The service layer's errors: one root, split by what the caller (CLI, admin API) answers.

Every error carries a machine-readable `reason` (snake_case, stable: the dashboard switches on
it), a one-sentence `message` for people, and `details` (plain JSON) such as the existing QBO
record a duplicate name collided with.

                        HTTP  CLI exit
    ServiceError        400   1
    ├── Invalid         422   2   a value is refused (unknown tax code, currency required …)
    ├── NotFound        404   4   the customer, QBO object or mapping does not exist
    ├── Conflict        409   5   already linked, name taken (details name the existing record)
    ├── CustomerNotLinked 409 5   reason customer_not_linked: the invoice sync fails the document
    ├── NotConnected    409   6   the account has no usable QBO connection
    └── Unavailable     503   75  QBO or a dependency is down for now: try again (EX_TEMPFAIL)
(Exit 3 is the CLI's "PostgreSQL unavailable".)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "CustomerNotLinked",
    "Invalid",
    "NotConnected",
    "NotFound",
    "ServiceError",
    "Unavailable",
]


class ServiceError(Exception):
    """Root. `http_status` and `exit_code` say how each door reports it."""

    http_status = 400
    exit_code = 1

    def __init__(self, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.reason, self.message, self.details = reason, message, details

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "message": self.message, "details": self.details}


class NotFound(ServiceError):
    http_status, exit_code = 404, 4


class Conflict(ServiceError):
    http_status, exit_code = 409, 5


class Invalid(ServiceError):
    http_status, exit_code = 422, 2


class CustomerNotLinked(ServiceError):
    """The document's customer has no QBO customer (and auto-create is off or failed)."""

    http_status, exit_code = 409, 5

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__("customer_not_linked", message, **details)


class NotConnected(ServiceError):
    http_status, exit_code = 409, 6


class Unavailable(ServiceError):
    """Transient: QBO throttled us, timed out or failed; nothing was decided."""

    http_status, exit_code = 503, 75  # EX_TEMPFAIL

    def __init__(
        self, reason: str, message: str, *, retry_after: float | None = None, **details: Any
    ) -> None:
        super().__init__(reason, message, **details)
        self.retry_after = retry_after
