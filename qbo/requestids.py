"""QBO `requestid`s: deterministic, at most 50 characters (36 in a batch).

"A repeat with the same requestid returns the original response; the operation is not performed
again. The id must be unique per company" (blogs.intuit.com/2015/04/06/15346). Deterministic
ids (derived from the document and its payload) make a redelivered event, or a retry after a
lost answer, a replay instead of a second create.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["MAX_LENGTH", "MAX_LENGTH_BATCH", "check", "derive", "make"]

MAX_LENGTH = 50
MAX_LENGTH_BATCH = 36
_ALLOWED = re.compile(r"^[A-Za-z0-9._:-]+$")


def make(*parts: str) -> str:
    """A requestid from the parts that identify one effect (e.g. account, invoice, payload
    hash): "sq-" + 32 hex digits of their SHA-256 (35 characters: fits a batch too)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return "sq-" + digest[:32]


def derive(request_id: str, salt: str) -> str:
    """A different, still deterministic id for a follow-up write (e.g. re-applying an update
    after 5010: the original id would replay the original 5010)."""
    digest = hashlib.sha256(f"{request_id}\x1f{salt}".encode()).hexdigest()
    return f"{request_id[:25]}-{digest[:24]}"


def check(request_id: str, *, batch: bool = False) -> str:
    limit = MAX_LENGTH_BATCH if batch else MAX_LENGTH
    if not request_id or len(request_id) > limit or not _ALLOWED.match(request_id):
        raise ValueError(f"a QBO requestid is 1..{limit} characters of [A-Za-z0-9._:-]")
    return request_id
