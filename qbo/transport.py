"""HTTP for QBO: one pooled `requests.Session`, timeouts always set, JSON in and out.

The session does not trust the environment (`trust_env = False`): by default requests re-reads
it on every call (proxy variables, NO_PROXY, the CA bundle variables, a netrc file): about a
third of a call's CPU, in a process making hundreds of calls a second. What it would have read
is read once, when the transport is built: HTTP(S)_PROXY / ALL_PROXY and NO_PROXY
(`urllib.request.getproxies`, as requests; which proxy a host goes through is decided by
requests' rules once per scheme and host, then cached), and a CA bundle named by
REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (else requests' own, certifi's). A netrc file is never
read: its credentials would replace the Bearer token. Cookies are neither kept nor sent: every
call stands on its own token.

The only place where HTTP client exceptions are converted (into `TransportError`). Intuit's
`intuit_tid` response header is kept on every answer for errors and logs: it is what Intuit
support asks for. Nothing here logs headers or bodies (they hold tokens).
"""

from __future__ import annotations

import logging
import os
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from requests.utils import address_in_network, is_ipv4_address, is_valid_cidr, select_proxy

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


class _NoCookies(RequestsCookieJar):
    """Keeps no cookie (every call stands on its own token) and parses none: requests hands
    every answer to the session's jar, which would scan its headers for Set-Cookie."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        pass

    def add_cookie_header(self, request: Any) -> None:
        pass


class Transport:
    """Sends requests over one pooled session. Construction does no I/O.

    `pool_size`: connections kept per host; at least the threads that call at once (the
    runtime's 64 by default), or connections are opened and thrown away under load.
    `proxies`: scheme ("http", "https", "all", "no") → proxy URL, or for "no" a comma-separated
    list of hosts to reach directly; default: read from the environment, once.
    `ca_bundle`: a CA file or directory; default: REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, read once.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        pool_size: int = 64,
        proxies: Mapping[str, str] | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        self._timeout = (self.timeouts.connect, self.timeouts.read)
        self.proxies = dict(urllib.request.getproxies() if proxies is None else proxies)
        # (scheme, host[:port]) → the proxies argument for its calls: {} (direct) or {"all": URL}
        self._routes: dict[tuple[str, str], dict[str, str]] = {}
        self.session = requests.Session()
        self.session.trust_env = False
        env = os.environ
        self.session.verify = (
            ca_bundle or env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True
        )
        self.session.cookies = _NoCookies()
        self.session.headers.update({"User-Agent": "sequence-qbo", "Accept": "application/json"})
        adapter = HTTPAdapter(pool_connections=16, pool_maxsize=pool_size, max_retries=0)
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
        hdrs = {**self.session.headers, **(headers or {})}
        payload: Any = data
        if json_body is not None:
            hdrs.setdefault("Content-Type", "application/json")
            payload = _json.dumps(json_body).encode()
        elif isinstance(data, str):
            payload = data.encode()  # http.client would encode a str as latin-1
        started = time.monotonic()
        try:
            # Prepared here, not by `session.request`: that merges the session's headers,
            # params, auth, cookies and hooks into every call (≈60 µs of CPU), and this
            # transport keeps none of them on the session but its default headers.
            request = requests.PreparedRequest()
            request.prepare(
                method=method,
                url=url,
                headers=hdrs,
                data=payload,
                params=urlencode(params) if params else None,  # a str: no type probing
                auth=auth,
                cookies=self.session.cookies,
            )
            resp = self.session.send(
                request, timeout=self._timeout, allow_redirects=False, proxies=self._route(url)
            )
        except requests.Timeout as exc:
            raise errors.TransportError(
                f"QBO did not answer in time ({type(exc).__name__})", detail=_path(url)
            ) from exc
        except OSError as exc:  # requests' exceptions, and a missing CA bundle
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

    def _route(self, url: str) -> dict[str, str]:
        """The proxy for the URL's scheme and host, decided by requests' rules the first time
        (a transport talks to a handful of hosts: QBO's and Intuit's OAuth ones)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        route = self._routes.get(key)
        if route is None:
            host = parts.hostname or ""
            no_proxy = self.proxies.get("no", "")
            direct = no_proxy and _bypass(host, parts.port, no_proxy)
            proxy = None if direct else select_proxy(url, self.proxies)
            route = self._routes[key] = {"all": proxy} if proxy else {}
        return route


# urllib's NO_PROXY rules ("*", suffixes), which requests applies after its own; public in
# urllib.request, but missing from typeshed's stubs.
_proxy_bypass: Callable[[str, dict[str, str]], bool] = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]


def _bypass(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether NO_PROXY names the host: `requests.utils.should_bypass_proxies` on the list
    read at construction (that function reads and sets os.environ itself)."""
    entries = [entry for entry in no_proxy.replace(" ", "").split(",") if entry]
    if is_ipv4_address(host):
        for entry in entries:
            if address_in_network(host, entry) if is_valid_cidr(entry) else host == entry:
                return True
    else:
        names = (host, f"{host}:{port}") if port else (host,)
        for entry in entries:
            entry = entry.lstrip(".")
            if any(name == entry or name.endswith("." + entry) for name in names):
                return True
    return bool(_proxy_bypass(host, {"no": no_proxy}))


def _answer(resp: requests.Response) -> Answer:
    # Not `resp.text`: without a charset requests guesses one, slowly, or takes latin-1 for text/*.
    text = resp.content.decode(_charset(resp.headers.get("Content-Type")), errors="replace")
    try:
        body = _json.loads(text) if text.strip() else None
    except ValueError:
        body = None  # e.g. the XML or HTML some 401s and gateway 5xx carry
    return Answer(resp.status_code, resp.headers, body, text, resp.headers.get("intuit_tid"))


def _charset(content_type: str | None) -> str:
    """The charset the Content-Type names (utf-8 when none or unknown)."""
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"' ")
            try:
                "".encode(charset)
            except LookupError:
                break
            return charset
    return "utf-8"


def _path(url: str) -> str:
    """The URL without its query string, for logs and messages."""
    return url.split("?", 1)[0]
