from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from api import signature

TOKEN = "verifier-token-123"
BODY = b'{"eventNotifications":[]}'


def test_sign_is_base64_hmac_sha256_of_the_raw_body() -> None:
    expected = base64.b64encode(hmac.new(TOKEN.encode(), BODY, hashlib.sha256).digest()).decode()
    assert signature.sign(TOKEN, BODY) == expected


def test_verify_accepts_the_right_signature() -> None:
    assert signature.verify(TOKEN, BODY, signature.sign(TOKEN, BODY))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "not base64 at all",
        signature.sign(TOKEN, BODY + b" "),  # body tampered after signing
        signature.sign("other-token", BODY),
        signature.sign(TOKEN, BODY)[:-2],
        "é" * 44,  # non-ASCII must be refused, not crash
    ],
)
def test_verify_refuses(header: str | None) -> None:
    assert not signature.verify(TOKEN, BODY, header)


def test_verify_uses_the_raw_bytes_not_reserialised_json() -> None:
    spaced = b'{ "eventNotifications" : [] }'
    assert not signature.verify(TOKEN, spaced, signature.sign(TOKEN, BODY))
