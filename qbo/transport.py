"""HTTP for QBO: pooled urllib3 connections, timeouts always set, JSON in and out.

urllib3 directly, not `requests`: a requests call spends more CPU than the rest of a QBO call
(it re-reads the environment for proxies, looks for a netrc file, merges cookies and hooks, and
parses the URL several times, on every request), and a process making hundreds of calls a
second is CPU-bound on it. What requests took from the environment is read once, when the
transport is built: HTTP(S)_PROXY / ALL_PROXY and NO_PROXY (`urllib.request`'s rules, those
requests follows) and a CA bundle named by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (else certifi's,
as requests). A netrc file is not read: its credentials would replace the Bearer token.

The only place where HTTP client exceptions are converted (into `TransportError`). Intuit's
`intuit_tid` response header is kept on every answer for errors and logs: it is what Intuit
support asks for. Nothing here logs headers or bodies (they hold tokens).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from qbo import _json, errors

__all__ = ["Answer", "Timeouts", "Transport"]

log = logging.getLogger(__name__)

# What requests sent by default: QBO answers large pages gzipped.
_DEFAULT_HEADERS = {"Accept-Encoding": "gzip, deflate", "User-Agent": "sequence-qbo"}


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
    """Sends requests over pooled connections. Construction does no I/O.

    `pool_size`: connections kept per host; at least the threads that call at once (the
    runtime's 64 by default), or connections are opened and thrown away under load.
    `proxies`: scheme ("http", "https", "all", "no") → proxy URL, or for "no" a comma-separated
    list of hosts to reach directly; default: read from the environment, once.
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
        self._timeout = urllib3.Timeout(connect=self.timeouts.connect, read=self.timeouts.read)
        env = os.environ
        self.proxies = dict(urllib.request.getproxies_environment() if proxies is None else proxies)
        ca = ca_bundle or env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE")
        self._pool_options: dict[str, Any] = {
            "num_pools": 16,
            "maxsize": pool_size,
            "block": False,
            "ca_certs": ca or certifi.where(),
            "retries": False,
        }
        self._direct = urllib3.PoolManager(**self._pool_options)
        self._via: dict[str, urllib3.PoolManager] = {}  # proxy URL → its pools
        self._routes: dict[tuple[str, str], urllib3.PoolManager] = {}  # (scheme, host) → pools
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            managers = [self._direct, *self._via.values()]
        for manager in managers:
            manager.clear()

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
        hdrs = {**_DEFAULT_HEADERS, "Accept": "application/json", **(headers or {})}
        payload: bytes | None = None
        if json_body is not None:
            hdrs.setdefault("Content-Type", "application/json")
            payload = _json.dumps(json_body).encode()
        elif isinstance(data, str):
            payload = data.encode()
        elif data is not None:
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
            payload = urlencode(data).encode()
        if auth is not None:
            hdrs.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        full = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}" if params else url
        started = time.monotonic()
        try:
            resp = self._route(full).request(
                method,
                full,
                body=payload,
                headers=hdrs,
                timeout=self._timeout,
                redirect=False,
                retries=False,
            )
        except NewConnectionError as exc:  # a subclass of urllib3's timeout error, but refused
            raise errors.TransportError(
                f"cannot reach QBO ({type(exc).__name__})", detail=_path(url)
            ) from exc
        except Urllib3Timeout as exc:
            raise errors.TransportError(
                f"QBO did not answer in time ({type(exc).__name__})", detail=_path(url)
            ) from exc
        except (Urllib3Error, OSError) as exc:
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

    def _route(self, url: str) -> urllib3.PoolManager:
        """The pools for the URL's host: direct, or through the proxy the settings name for it
        (decided once per scheme and host)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._routes.get(key)
        if found is not None:
            return found
        proxy = self._proxy_for(parts.scheme, parts.hostname or "", parts.netloc)
        with self._lock:
            if proxy is None:
                manager: urllib3.PoolManager = self._direct
            else:
                manager = self._via.get(proxy) or _proxy_manager(proxy, self._pool_options)
                self._via[proxy] = manager
            self._routes[key] = manager
        return manager

    def _proxy_for(self, scheme: str, host: str, netloc: str) -> str | None:
        """requests' choice (`requests.utils.select_proxy` after `should_bypass_proxies`)."""
        if "no" in self.proxies and _bypass(netloc, host, self.proxies["no"]):
            return None
        for name in (f"{scheme}://{host}", scheme, f"all://{host}", "all"):
            if self.proxies.get(name):
                return self.proxies[name]
        return None


def _proxy_manager(proxy: str, options: dict[str, Any]) -> urllib3.PoolManager:
    """Pools through `proxy`, with its credentials (user:password in the URL, as requests
    takes them) sent as Proxy-Authorization."""
    parts = urlsplit(proxy)
    headers = None
    if parts.username is not None:
        login = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers = urllib3.make_headers(proxy_basic_auth=login)
    if parts.scheme.startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks, as requests'

        return SOCKSProxyManager(proxy, **options)
    return urllib3.ProxyManager(proxy, proxy_headers=headers, **options)


# urllib's NO_PROXY rules (suffix match, "*", host:port), which requests applies too; public in
# urllib.request, but missing from typeshed's stubs.
_proxy_bypass: Callable[[str, dict[str, str]], bool] = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]


def _bypass(netloc: str, host: str, no_proxy: str) -> bool:
    proxies = {"no": no_proxy}
    return bool(_proxy_bypass(netloc, proxies) or _proxy_bypass(host, proxies))


def _answer(resp: urllib3.BaseHTTPResponse) -> Answer:
    text = resp.data.decode(_charset(resp.headers.get("Content-Type")), errors="replace")
    try:
        body = _json.loads(text) if text.strip() else None
    except ValueError:
        body = None  # e.g. the XML or HTML some 401s and gateway 5xx carry
    return Answer(resp.status, resp.headers, body, text, resp.headers.get("intuit_tid"))


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
