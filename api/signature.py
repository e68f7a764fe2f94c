"""Intuit's webhook signature: header `intuit-signature` = base64(HMAC-SHA256(verifier token,
raw body)) (docs/qbo-behaviours.md#webhooks; unchanged for CloudEvents)."""

from __future__ import annotations

import base64
import hashlib
import hmac

HEADER = "intuit-signature"


def sign(token: str, body: bytes) -> str:
    """The header value Intuit sends for `body` (also used by tests and the benchmark)."""
    digest = hmac.new(token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(token: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of the raw `body`; constant-time comparison."""
    if not header:
        return False
    return hmac.compare_digest(sign(token, body).encode(), header.strip().encode())
