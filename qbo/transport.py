"""HTTP for QBO: one pooled `requests.Session`, timeouts always set, JSON in and out.

The only place where `requests` exceptions are converted (into `TransportError`). Intuit's
`intuit_tid` response header is kept on every answer for errors and logs: it is what Intuit
support asks for. Nothing here logs headers or bodies (they hold tokens).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from qbo import _json, errors

__all__ = ["Answer", "Timeouts", "Transport"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    """Seconds. QBO times requests out after 120 s itself (limits page), so waiting longer
    for an answer is pointless."""

    connect: float = 5.0
    read: float = 125.0


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers, decoded JSON body (None when not JSON) and raw text."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str = field(repr=False)
    intuit_tid: str | None = None


class Transport:
    """Sends requests over one pooled session. Construction does no I/O."""

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        pool_size: int = 32,
        session: requests.Session | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def close(self) -> None:
        self.session.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: str | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Answer:
        """One HTTP exchange. Raises `TransportError` when no answer came back."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        payload: Any = data
        if json_body is not None:
            hdrs.setdefault("Content-Type", "application/json")
            payload = _json.dumps(json_body).encode()
        started = time.monotonic()
        try:
            resp = self.session.request(
                method,
                url,
                params=params,
                data=payload,
                headers=hdrs,
                auth=auth,
                timeout=(self.timeouts.connect, self.timeouts.read),
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise errors.TransportError(
                f"QBO did not answer in time ({type(exc).__name__})", detail=_path(url)
            ) from exc
        except requests.RequestException as exc:
            raise errors.TransportError(
                f"cannot reach QBO ({type(exc).__name__})", detail=_path(url)
            ) from exc
        answer = _answer(resp)
        log.debug(
            "%s %s -> %s in %.0f ms intuit_tid=%s",
            method,
            _path(url),
            answer.status,
            (time.monotonic() - started) * 1000,
            answer.intuit_tid,
        )
        return answer


def _answer(resp: requests.Response) -> Answer:
    # Not `resp.text`: without a charset requests would guess one, slowly, on large pages.
    text = resp.content.decode(resp.encoding or "utf-8", errors="replace")
    try:
        body = _json.loads(text) if text.strip() else None
    except ValueError:
        body = None  # e.g. the XML or HTML some 401s and gateway 5xx carry
    return Answer(resp.status_code, resp.headers, body, text, resp.headers.get("intuit_tid"))


def _path(url: str) -> str:
    """The URL without its query string, for logs and messages."""
    return url.split("?", 1)[0]
