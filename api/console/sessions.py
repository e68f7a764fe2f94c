"""Console sessions: a person signs in with the admin token once and gets a cookie naming a
random server-side session; every form carries the session's CSRF token.

The cookie holds only a random id (256 bits): the session itself (its CSRF token, its expiry,
a message for the next page) stays in this process. It is HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it) and Secure when the console is reached over
HTTPS. Sessions live in memory: a restart signs everyone out, and behind several serving
processes a sticky route is needed (docs/operating.md#the-operator-console).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request, Response

__all__ = ["COOKIE", "LOGIN_COOKIE", "Session", "Sessions", "set_cookie"]

COOKIE = "sqbo_console"
LOGIN_COOKIE = "sqbo_console_login"  # the sign-in form's CSRF token (double submit)
PATH = "/console"
LIFETIME = dt.timedelta(hours=8)


@dataclass
class Session:
    id: str
    csrf: str
    expires_at: dt.datetime
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) for the next page

    def csrf_ok(self, given: str | None) -> bool:
        return hmac.compare_digest((given or "").encode(), self.csrf.encode())

    def say(self, kind: str, text: str) -> None:
        self.flash.append((kind, text))

    def take_flash(self) -> list[tuple[str, str]]:
        out, self.flash = self.flash, []
        return out


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Sessions:
    def __init__(self, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self._clock = clock
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self) -> Session:
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + LIFETIME)
        with self._lock:
            self._by_id = {k: s for k, s in self._by_id.items() if s.expires_at > now}
            self._by_id[session.id] = session
        return session

    def of(self, request: Request) -> Session | None:
        sid = request.cookies.get(COOKIE)
        if not sid:
            return None
        with self._lock:
            session = self._by_id.get(sid)
        if session is None or session.expires_at <= self._clock():
            return None
        return session

    def end(self, session: Session) -> None:
        with self._lock:
            self._by_id.pop(session.id, None)


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
