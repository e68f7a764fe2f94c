"""HTML building for the console. Every value goes through `e` (html.escape, quotes too) when
it is put in a page: names and messages merchants typed reach these pages. Helpers that take
`Html` take markup already built from escaped parts; helpers that take `str` escape it."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from urllib.parse import quote

__all__ = [
    "Html",
    "button",
    "e",
    "form",
    "hidden",
    "layout",
    "link",
    "options",
    "table",
    "u",
    "when",
]


class Html(str):
    """Markup built from escaped parts (never a raw value). Concatenations are plain `str`
    again: helpers that take markup take `str` made only of these."""


def e(text: object) -> Html:
    return Html(html.escape("" if text is None else str(text), quote=True))


def u(segment: str) -> str:
    """A URL path segment (then escaped for the attribute by `link`/`form`)."""
    return quote(segment, safe="")


def when(at: dt.datetime | dt.date | None) -> Html:
    if at is None:
        return Html("-")
    if isinstance(at, dt.datetime):
        return e(f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC")
    return e(at.isoformat())


def link(href: str, text: str, cls: str = "") -> Html:
    klass = f' class="{e(cls)}"' if cls else ""
    return Html(f'<a href="{e(href)}"{klass}>{e(text)}</a>')


def hidden(name: str, value: str) -> Html:
    return Html(f'<input type="hidden" name="{e(name)}" value="{e(value)}">')


def form(action: str, csrf: str, body: str, *, cls: str = "inline") -> Html:
    """A POST form carrying the session's CSRF token."""
    return Html(
        f'<form method="post" action="{e(action)}" class="{e(cls)}">'
        f"{hidden('csrf', csrf)}{body}</form>"
    )


def button(text: str, name: str = "") -> Html:
    named = f' name="{e(name)}"' if name else ""
    return Html(f'<button type="submit"{named}>{e(text)}</button>')


def options(pairs: Iterable[tuple[str, str]], selected: str | None = None) -> Html:
    return Html(
        "".join(
            f'<option value="{e(v)}"{" selected" if v == selected else ""}>{e(label)}</option>'
            for v, label in pairs
        )
    )


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, empty: str = "None.") -> Html:
    """`rows` hold Html cells: each was escaped when it was made."""
    if not rows:
        return Html(f'<p class="muted">{e(empty)}</p>')
    ths = "".join(f"<th>{e(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return Html(f"<table><thead><tr>{ths}</tr></thead><tbody>{trs}</tbody></table>")


def badge(word: str | None) -> Html:
    return Html(f'<span class="badge {e(word)}">{e(word)}</span>')


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1f2933; background: #fafbfc; }
header { background: #1f2933; color: #fff; padding: .6rem 1.5rem; display: flex; gap: 1.2rem;
         align-items: center; }
header a { color: #e4e7eb; text-decoration: none; } header a:hover { color: #fff; }
header .brand { font-weight: 700; margin-right: 1rem; } header form { margin-left: auto; }
main { max-width: 80rem; margin: 1.5rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.5rem; margin: .2rem 0 1rem; } h2 { margin-top: 2rem; font-size: 1.15rem; }
table { border-collapse: collapse; width: 100%; background: #fff; margin-bottom: .5rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e4e7eb;
         vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
.muted { color: #7b8794; } form.inline { display: inline; margin: 0; }
form.fix { display: flex; gap: .4rem; flex-wrap: wrap; align-items: center; margin: .2rem 0; }
input, select { font: inherit; padding: .15rem .3rem; }
button { font: inherit; padding: .15rem .6rem; cursor: pointer; }
.badge { font-weight: 600; } .synced, .created, .updated, .adopted, .active, .succeeded,
.sent { color: #1f7a3d; } .failed, .disconnected { color: #b42318; }
.retrying, .waiting, .needs_reauth, .queued, .running { color: #b54708; }
.flash { padding: .5rem .8rem; border-radius: 4px; margin-bottom: 1rem; }
.flash.ok { background: #e3f9e5; } .flash.error { background: #fde8e8; }
code { font-size: 12px; } .message { max-width: 32rem; }
"""


def layout(
    title: str,
    body: str,
    *,
    csrf: str | None,
    flash: Sequence[tuple[str, str]] = (),
    nav: Sequence[tuple[str, str]] = (),
) -> str:
    links = "".join(link(href, text) for href, text in nav)
    out = form("/console/logout", csrf, button("Sign out")) if csrf else ""
    notes = "".join(f'<div class="flash {e(kind)}">{e(text)}</div>' for kind, text in flash)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} · sequence-qbo</title><style>{_STYLE}</style></head><body>"
        f'<header><span class="brand">sequence-qbo console</span>{links}{out}</header>'
        f"<main><h1>{e(title)}</h1>{notes}{body}</main></body></html>"
    )
