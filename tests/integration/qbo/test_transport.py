"""The HTTP transport over real sockets: a proxy named by the environment is used (read once,
when the transport is built), NO_PROXY hosts are reached directly, HTTPS goes through a CONNECT
tunnel of HTTPS_PROXY, proxy credentials are sent, a CA bundle named by the environment is the
one used, text bodies go out as UTF-8, and the connection pool holds as many connections as the
runtime has threads (no connection opened and thrown away under load)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qbo import errors
from qbo.transport import Transport

from .http_proxy import running_proxy

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


class _Origin(ThreadingHTTPServer):
    """Answers `{"path": ...}` after `delay` seconds; counts the connections it accepted."""

    daemon_threads = True

    def __init__(self, delay: float) -> None:
        self.delay, self.connections, self.lock = delay, 0, threading.Lock()
        super().__init__(("127.0.0.1", 0), _OriginHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _OriginHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Origin

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def log_message(self, *_args: object) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(self.server.delay)
        body = f'{{"path": "{self.path}"}}'.encode()
        if self.path == "/cookie":  # sets a cookie; echoes the one it was sent
            body = json.dumps({"cookie": self.headers.get("Cookie")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "session=gateway-1; Path=/")
        self.send_header("intuit_tid", "tid-1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        """Echoes the body's bytes, hex-encoded (what was on the wire, not a re-decoding)."""
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = f'{{"hex": "{data.hex()}"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def running_origin(delay: float = 0.0) -> Iterator[_Origin]:
    server = _Origin(delay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_proxy_of_the_environment_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_origin() as origin, running_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        transport = Transport()
        # Read once, when built: later changes to the environment do not reroute it.
        monkeypatch.delenv("HTTP_PROXY")
        answer = transport.send("GET", f"{origin.url}/v3/company/1/item/7", params={"a": "b c"})
        transport.close()
    assert answer.status == 200 and answer.body == {"path": "/v3/company/1/item/7?a=b+c"}
    assert answer.intuit_tid == "tid-1"
    assert proxy.seen.requests == [("GET", f"{origin.url}/v3/company/1/item/7?a=b+c", None)]


def test_no_proxy_hosts_are_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    with running_origin() as origin, running_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        transport = Transport()
        answer = transport.send("GET", f"{origin.url}/direct")
        transport.close()
    assert answer.body == {"path": "/direct"}
    assert proxy.seen.requests == []


def test_no_proxy_takes_requests_rules_cidr_ranges_included(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_origin() as origin, running_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.0/8")
        transport = Transport()
        monkeypatch.delenv("NO_PROXY")  # read once, when built
        answer = transport.send("GET", f"{origin.url}/in-range")
        transport.close()
    assert answer.body == {"path": "/in-range"}
    assert proxy.seen.requests == []


def test_the_ca_bundle_of_the_environment_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/private-ca.pem")
    transport = Transport()
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    # requests checks the bundle before connecting: nothing listens on port 9.
    with pytest.raises(errors.TransportError, match="cannot reach QBO") as raised:
        transport.send("GET", "https://127.0.0.1:9/v3/company/1/companyinfo/1")
    assert "/nonexistent/private-ca.pem" in str(raised.value.__cause__)


def test_no_cookie_is_kept_between_calls() -> None:
    with running_origin() as origin:
        transport = Transport()
        answers = [transport.send("GET", f"{origin.url}/cookie").body for _ in range(2)]
        transport.close()
    assert answers == [{"cookie": None}, {"cookie": None}]


def test_a_text_body_goes_out_as_utf8() -> None:
    """http.client would send a str body as latin-1 (and fail on "→")."""
    text = "name=Café → Zürich"
    with running_origin() as origin:
        transport = Transport()
        answer = transport.send("POST", f"{origin.url}/form", data=text)
        transport.close()
    assert bytes.fromhex(answer.body["hex"]) == text.encode("utf-8")


def test_https_goes_through_a_tunnel_of_the_https_proxy_with_its_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_proxy() as proxy:
        # user "intuit", password "p@ss:w" (percent-encoded in the URL, as users write it)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("//", "//intuit:p%40ss%3Aw@"))
        transport = Transport()
        # The proxy refuses the tunnel: no request leaves this machine.
        with pytest.raises(errors.TransportError):
            transport.send("GET", "https://quickbooks.api.intuit.com/v3/company/1/companyinfo/1")
        transport.close()
    [(method, target, auth)] = proxy.seen.requests
    assert (method, target) == ("CONNECT", "quickbooks.api.intuit.com:443")
    assert auth == "Basic " + base64.b64encode(b"intuit:p@ss:w").decode()


def test_the_pool_keeps_a_connection_per_runtime_thread(caplog: pytest.LogCaptureFixture) -> None:
    """Two rounds of 64 requests at once (the runtime's default thread count): the second
    round reuses the first round's connections (a pool of 32 threw half of them away with
    urllib3's "Connection pool is full" warning)."""
    threads = 64
    with running_origin(delay=0.3) as origin:
        transport = Transport()
        for _ in range(2):
            answers: list[int] = []
            workers = [
                threading.Thread(
                    target=lambda: answers.append(transport.send("GET", f"{origin.url}/x").status)
                )
                for _ in range(threads)
            ]
            for w in workers:
                w.start()
            for w in workers:
                w.join(30)
            assert answers == [200] * threads
        transport.close()
    assert origin.connections == threads
    assert "Connection pool is full" not in caplog.text


def test_an_unreachable_host_is_a_transport_error() -> None:
    with running_origin() as origin:
        url = origin.url
    with pytest.raises(errors.TransportError, match="cannot reach QBO"):
        Transport().send("GET", f"{url}/gone")
