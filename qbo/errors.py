"""QBO's errors, split by what the caller should do next.

    QboError
    ├── Retryable            wait `retry_after` and try again (429, 5xx, timeout, connection)
    │   ├── Throttled        429 (or code 3001 on an older 403)
    │   ├── ServerError      5xx, SystemFault
    │   └── TransportError   no answer: timeout or connection error (a write may have committed)
    ├── Conflict             5010 stale SyncToken: re-read, re-apply
    ├── DuplicateName        6240
    ├── DuplicateDocNumber   6140 (and a 6210 whose words say "duplicate")
    ├── NotFound             610
    ├── Validation           any other fault: permanent, keeps QBO's Message and Detail
    ├── AuthError            401/403, token problems
    │   ├── ReauthRequired   the refresh token is dead (invalid_grant): run `connect` again
    │   └── NotConnected     the account has no connection
    └── ConfigError          the service is set up wrongly (no key, no client id)
        └── TokenUndecryptable  stored tokens cannot be decrypted (the key changed)

HTTP status, Fault code and Intuit's `intuit_tid` are attributes and part of `str()`. No token
ever goes into an exception: QBO's bodies do not echo them, and we never add request headers.
Parsing of QBO's bodies lives in `qbo._faults`; this module only defines the classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AuthError",
    "ConfigError",
    "Conflict",
    "DuplicateDocNumber",
    "DuplicateName",
    "FaultDetail",
    "NotConnected",
    "NotFound",
    "QboError",
    "ReauthRequired",
    "Retryable",
    "ServerError",
    "Throttled",
    "TokenUndecryptable",
    "TransportError",
    "Validation",
]


@dataclass(frozen=True)
class FaultDetail:
    """One entry of a Fault's `Error` list, as QBO wrote it."""

    code: str | None
    message: str
    detail: str = ""
    element: str | None = None


class QboError(Exception):
    """Root of every error the QBO client raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        intuit_tid: str | None = None,
        detail: str = "",
        fault_type: str | None = None,
        errors: tuple[FaultDetail, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.intuit_tid = intuit_tid
        self.detail = detail
        self.fault_type = fault_type
        self.errors = errors

    def __str__(self) -> str:
        where = [f"HTTP {self.status}" if self.status is not None else "no HTTP status"]
        if self.code:
            where.append(f"code {self.code}")
        if self.intuit_tid:
            where.append(f"intuit_tid {self.intuit_tid}")
        text = f"{self.message} ({', '.join(where)})"
        return f"{text}: {self.detail}" if self.detail else text


class Retryable(QboError):
    """Transient: the same request may succeed later. `retry_after` is the wait in seconds
    QBO asked for, or None when it did not say."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Throttled(Retryable):
    """429 ThrottleExceeded: over 500/min, 10/s or 10 concurrent for this realm."""


class ServerError(Retryable):
    """5xx or a SystemFault."""


class TransportError(Retryable):
    """No HTTP answer. After a read timeout a write may have committed in QBO: retry only
    with the same `requestid`."""


class Conflict(QboError):
    """5010 Stale Object Error: the SyncToken sent is no longer the latest."""


class DuplicateName(QboError):
    """6240: DisplayName is unique across Customer, Vendor and Employee."""


class DuplicateDocNumber(QboError):
    """6140 (or a 6210 that says "duplicate"): the DocNumber is already used (with Custom
    Transaction Numbers on)."""


class NotFound(QboError):
    """610 Object Not Found (missing, or referencing an inactive object)."""


class Validation(QboError):
    """Any other fault: permanent, the request must change."""


class AuthError(QboError):
    """401/403 or a token problem."""


class ReauthRequired(AuthError):
    """The refresh token was refused (invalid_grant): the account must connect again."""


class NotConnected(AuthError):
    """The account has no active QBO connection."""


class ConfigError(QboError):
    """The service is misconfigured; the message says which setting to fix."""


class TokenUndecryptable(ConfigError):
    """The stored tokens cannot be decrypted with the configured key: permanent until the key
    is restored or the account connects again (retrying cannot help)."""
