"""Turns an HTTP answer from QBO into the right `QboError` (or None when it is a success).

The one place where QBO's error bodies are read. Quirks handled:
- The API writes `{"Fault":{"Error":[{"Message","Detail","code","element"}],"type"}}`; the
  gateway writes lowercase `{"fault":{"error":[{"message","detail","code",...}]}}`
  (401 and 429, routablehq/python-quickbooks#250).
- 401 bodies may be XML or other non-JSON (python-quickbooks checks the status before parsing).
- "HTTP 200 can still carry a Fault" (Intuit's error-codes page).
- Throttling was once answered with 403 and code 3001 (quickbooks-ruby's recorded
  throttle_exceeded_error.xml).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from qbo import errors

# Fault code → class, checked before the HTTP status (a 5010 comes with a plain 400).
_BY_CODE: Mapping[str, type[errors.QboError]] = {
    "5010": errors.Conflict,
    "6240": errors.DuplicateName,
    "6140": errors.DuplicateDocNumber,  # what QBO answers (docs/sandbox.md)
    "610": errors.NotFound,
    "3001": errors.Throttled,
    "3200": errors.AuthError,
    "3100": errors.AuthError,
    "100": errors.AuthError,
    "120": errors.AuthError,
}
_DUPLICATE_WORDS = re.compile(r"duplicate", re.IGNORECASE)
# A truncated "abc..." token, or a 24+ character run with a digit in it (words have none).
_TOKENISH = re.compile(r"[\w\-~]{8,}\.{3}|(?=[A-Za-z_\-~.]*\d)[\w\-~.]{24,}")
_AUTH_TYPES = frozenset(
    {
        "authenticationfault",
        "authorizationfault",
        "authorizatonfault",
        "authentication",
        "authorization",
    }
)


def find_fault(body: Any) -> tuple[str | None, tuple[errors.FaultDetail, ...]] | None:
    """(type, errors) of a `Fault` or gateway `fault` in a decoded body; None if there is none."""
    if not isinstance(body, Mapping):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, Mapping):
        return None
    items = fault.get("Error") or fault.get("error") or []
    details = tuple(_detail(item) for item in items if isinstance(item, Mapping))
    return fault.get("type"), details


def _detail(item: Mapping[str, Any]) -> errors.FaultDetail:
    code = item.get("code")
    return errors.FaultDetail(
        code=str(code) if code is not None else None,
        message=str(item.get("Message") or item.get("message") or ""),
        detail=str(item.get("Detail") or item.get("detail") or ""),
        element=item.get("element") or None,
    )


def error_for(
    status: int,
    body: Any,
    headers: Mapping[str, str],
    *,
    text: str = "",
    intuit_tid: str | None = None,
) -> errors.QboError | None:
    """The error an answer means, or None for a success. `body` is the decoded JSON (None when
    the body was not JSON) and `text` the raw body, used only to describe non-JSON answers."""
    found = find_fault(body)
    if found is None and 200 <= status < 300:
        return None
    fault_type, details = found or (None, ())
    cls = _classify(status, fault_type, details)
    if issubclass(cls, errors.AuthError):
        details = tuple(_redacted(d) for d in details)
    first = details[0] if details else None
    message = first.message if first and first.message else _describe(status, body, text)
    kwargs: dict[str, Any] = {
        "status": status,
        "code": first.code if first else None,
        "intuit_tid": intuit_tid,
        "detail": first.detail if first else "",
        "fault_type": fault_type,
        "errors": details,
    }
    if issubclass(cls, errors.Retryable):
        kwargs["retry_after"] = retry_after(headers)
    return cls(message, **kwargs)


def fault_error(fault: Mapping[str, Any], *, intuit_tid: str | None = None) -> errors.QboError:
    """The error for a Fault found inside a batch item (no HTTP status of its own)."""
    err = error_for(400, {"Fault": fault}, {}, intuit_tid=intuit_tid)
    assert err is not None  # a Fault is always an error
    err.status = None
    return err


def _classify(
    status: int, fault_type: str | None, details: tuple[errors.FaultDetail, ...]
) -> type[errors.QboError]:
    for item in details:
        if item.code is not None and item.code in _BY_CODE:
            return _BY_CODE[item.code]
        if item.code == "6210" and _DUPLICATE_WORDS.search(f"{item.message} {item.detail}"):
            # 6210 is "Account Period Closed" in Intuit's answers, but older integrations report
            # a duplicate number under it: its words decide (docs/sandbox.md, fidelity).
            return errors.DuplicateDocNumber
    if status == 429:
        return errors.Throttled
    if status in (401, 403) or (fault_type or "").lower() in _AUTH_TYPES:
        return errors.AuthError
    if status >= 500 or fault_type == "SystemFault":
        return errors.ServerError
    return errors.Validation


def _describe(status: int, body: Any, text: str) -> str:
    if status in (401, 403):
        # Never echo an auth answer's body: it is not ours to log.
        return "not authorized by QBO" if status == 403 else "authentication failed"
    if body is None and text.strip():
        snippet = " ".join(text.split())[:120]
        return f"unexpected non-JSON answer from QBO: {snippet}"
    return f"unexpected answer from QBO (HTTP {status})"


def redact(text: str) -> str:
    """Hides anything token-like: a gateway 401 detail may quote the start of the bearer token
    ("Token expired: eyJlbmMiOiJB..."), and no token belongs in a message or a log."""
    return _TOKENISH.sub("[redacted]", text)


def _redacted(item: errors.FaultDetail) -> errors.FaultDetail:
    return dataclasses.replace(item, message=redact(item.message), detail=redact(item.detail))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a numeric `Retry-After` header; None when absent or a date."""
    raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None
