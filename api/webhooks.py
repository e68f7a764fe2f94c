"""`POST /webhooks/quickbooks`: Intuit's change notifications (docs/qbo-behaviours.md#webhooks).

Answers, and why:
- 401: `intuit-signature` missing or wrong; nothing is published.
- 413: a body over `MAX_BODY` (1 MiB): refused on its `Content-Length` before reading any of
  it, or as soon as a body without one grows past it.
- 503 `webhooks_disabled`: no verifier token is configured, so nothing can be verified; Intuit
  retries, and the deliveries go through once the token is set.
- 200: every usable notice is durable on `qbo.changes` (or was already, or belongs to a realm
  nobody connected). A validly signed body that cannot be parsed, wholly or in part, is also
  answered 200, after logging and counting it: Intuit retries any non-2xx for days (and a 400
  marks the whole batch `MultiPartFailed`), yet the same bytes would fail the same way forever.
  The CDC poller catches the changes such a body was about.
- 503: the notices could not be handed off now (broker or database down, or no acknowledgement
  in time); Intuit retries later and nothing was recorded as delivered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api import notices, signature
from api.errors import Unavailable
from api.intake import Intake
from api.metrics import WebhookMetrics

__all__ = ["PATH", "router"]

log = logging.getLogger(__name__)

PATH = "/webhooks/quickbooks"


# Intuit sets no size limit (docs/qbo-behaviours.md#webhooks); this bound only stops an unsigned
# sender from making us buffer before the signature can be checked. A notice is about 200
# bytes, so 1 MiB is thousands of them: far above a 5-minute batch.
MAX_BODY = 1024 * 1024
# Intuit wants the 200 within 3 s of sending (docs/qbo-behaviours.md#webhooks). Counted from
# when the handler starts, so time spent queueing for a worker thread comes out of it too; the
# other 0.5 s is left for the network and the answer.
BUDGET_SECONDS = 2.5


def router(
    verifier_token: str | None,
    intake: Intake,
    metrics: WebhookMetrics,
    clock: Callable[[], dt.datetime],
    max_body: int = MAX_BODY,
    budget: float = BUDGET_SECONDS,
) -> APIRouter:
    """The webhook route. Without a verifier token it fails closed: every request is a 503
    that says so (Intuit retries; nothing is lost while the token is being set)."""
    routes = APIRouter(tags=["webhooks"])

    @routes.post(PATH, include_in_schema=False)
    async def receive(request: Request) -> JSONResponse:
        deadline = time.monotonic() + budget
        if _declared_length(request) > max_body:
            return _answer(metrics, "too_large", 413, {"detail": "body too large"})
        if verifier_token is None:
            return _answer(metrics, "disabled", 503, _DISABLED)
        body = await _read(request, max_body)  # raw bytes: the signature covers them exactly
        if body is None:
            return _answer(metrics, "too_large", 413, {"detail": "body too large"})
        if not signature.verify(verifier_token, body, request.headers.get(signature.HEADER)):
            return _answer(metrics, "bad_signature", 401, {"detail": "invalid intuit-signature"})
        parsed = notices.parse(body, clock())
        _record_problems(metrics, parsed, body)
        return await _hand_off(intake, metrics, parsed, deadline)

    return routes


_DISABLED = {
    "detail": {
        "reason": "webhooks_disabled",
        "message": "SEQUENCE_QBO_WEBHOOK_VERIFIER_TOKEN is not set, so no webhook can be "
        "verified; set it to the Intuit app's verifier token and restart",
    }
}


def _declared_length(request: Request) -> int:
    """The Content-Length header's value (0 when absent; a malformed one counts as too large)."""
    value = request.headers.get("content-length")
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return 1 << 62


async def _read(request: Request, limit: int) -> bytes | None:
    """The whole body, or None as soon as it exceeds `limit` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _hand_off(
    intake: Intake, metrics: WebhookMetrics, parsed: notices.Parsed, deadline: float
) -> JSONResponse:
    try:
        # Blocking work (database, waiting for the broker) runs off the event loop.
        tally = await run_in_threadpool(intake.handle, parsed.notices, deadline)
    except Unavailable as exc:
        log.warning("webhook not handed off, answering 503 so Intuit retries: %s", exc)
        return _answer(metrics, "handoff_failed", 503, {"detail": "try again later"})
    except Exception:  # a bug: 500 makes Intuit retry, and the count makes it visible
        log.exception("webhook handling failed")
        return _answer(metrics, "error", 500, {"detail": "internal error"})
    outcome = tally.outcome()
    if outcome == "empty" and parsed.problems:
        outcome = "malformed"
    counts = {
        "accepted": tally.accepted,
        "duplicate": tally.duplicate,
        "unknown_realm": tally.unknown_realm,
        "malformed": len(parsed.problems),
    }
    return _answer(metrics, outcome, 200, counts)


def _answer(metrics: WebhookMetrics, outcome: str, status: int, content: dict) -> JSONResponse:
    metrics.requests.labels(outcome).inc()
    return JSONResponse(content, status_code=status)


def _record_problems(metrics: WebhookMetrics, parsed: notices.Parsed, body: bytes) -> None:
    """Logs and counts what was skipped; the digest identifies the body without dumping it."""
    if not parsed.problems:
        return
    metrics.notices.labels("malformed").inc(len(parsed.problems))
    log.warning(
        "signed webhook body sha256:%s (%d bytes) has %d unusable item(s): %s",
        hashlib.sha256(body).hexdigest()[:16],
        len(body),
        len(parsed.problems),
        "; ".join(parsed.problems[:5]),
    )
