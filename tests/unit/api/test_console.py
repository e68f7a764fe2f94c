"""The console's pieces without a server: sessions expire, CSRF tokens compare, every value
is escaped, QBO links point at the right place."""

from __future__ import annotations

import datetime as dt

from api.console import html, pages
from api.console.sessions import LIFETIME, Sessions


class _Request:
    def __init__(self, cookies: dict[str, str]) -> None:
        self.cookies = cookies


def test_a_session_is_found_by_its_cookie_until_it_expires() -> None:
    now = [dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)]
    sessions = Sessions(clock=lambda: now[0])
    s = sessions.create()
    assert len(s.id) >= 43 and s.id != s.csrf  # 256 random bits, url-safe
    assert sessions.of(_Request({"sqbo_console": s.id})) is s  # type: ignore[arg-type]
    assert sessions.of(_Request({"sqbo_console": "guess"})) is None  # type: ignore[arg-type]
    assert sessions.of(_Request({})) is None  # type: ignore[arg-type]
    now[0] += LIFETIME
    assert sessions.of(_Request({"sqbo_console": s.id})) is None  # type: ignore[arg-type]


def test_csrf_and_sign_out() -> None:
    sessions = Sessions()
    s = sessions.create()
    assert s.csrf_ok(s.csrf) and not s.csrf_ok("x") and not s.csrf_ok(None)
    sessions.end(s)
    assert sessions.of(_Request({"sqbo_console": s.id})) is None  # type: ignore[arg-type]


def test_flash_messages_are_shown_once() -> None:
    s = Sessions().create()
    s.say("ok", "done")
    assert s.take_flash() == [("ok", "done")] and s.take_flash() == []


def test_values_are_escaped_in_every_helper() -> None:
    evil = "<script>alert('x')</script>\"&"
    assert "<script>" not in html.e(evil) and "&quot;" in html.e(evil)
    assert "<script>" not in html.link(f"/a?{evil}", evil)
    assert "<script>" not in html.hidden("back", evil)
    assert "<script>" not in html.options([(evil, evil)])
    assert "<script>" not in html.layout(evil, html.e(evil), csrf=evil, flash=[(evil, evil)])
    assert "<script>" not in html.table([evil], [[html.e(evil)]])
    assert html.u("a/b c") == "a%2Fb%20c"


def test_qbo_links() -> None:
    assert pages.qbo_url("production", None, "9130", "invoice", "42") == (
        "https://app.qbo.intuit.com/app/invoice?txnId=42"
    )
    assert pages.qbo_url("sandbox", None, "9130", "credit_note", "7") == (
        "https://app.sandbox.qbo.intuit.com/app/creditmemo?txnId=7"
    )
    assert pages.qbo_url("sandbox", None, "9130", "customer", "3").endswith(
        "/app/customerdetail?nameId=3"
    )
    assert pages.qbo_url("emulator", "http://127.0.0.1:8600/", "123", "invoice", "5") == (
        "http://127.0.0.1:8600/_sandbox/realms/123/objects/Invoice"
    )
