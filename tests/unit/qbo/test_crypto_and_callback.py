from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from qbo import errors
from qbo.callback import parse_callback
from qbo.crypto import TokenCipher


def test_round_trip_and_no_plaintext() -> None:
    cipher = TokenCipher(SecretStr(Fernet.generate_key().decode()))
    blob = cipher.encrypt("refresh-AB11-secret")
    assert b"refresh-AB11-secret" not in blob
    assert cipher.decrypt(blob) == "refresh-AB11-secret"
    assert cipher.decrypt(memoryview(blob)) == "refresh-AB11-secret"
    assert "key" in repr(cipher) and Fernet.generate_key().decode() not in repr(cipher)


@pytest.mark.parametrize("key", [None, "", SecretStr(""), "not-a-fernet-key"])
def test_refuses_to_start_without_a_valid_key(key) -> None:
    with pytest.raises(errors.ConfigError, match="SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY"):
        TokenCipher(key)


def test_wrong_key_is_a_clear_error() -> None:
    blob = TokenCipher(Fernet.generate_key().decode()).encrypt("t")
    with pytest.raises(errors.ConfigError, match="cannot be decrypted"):
        TokenCipher(Fernet.generate_key().decode()).decrypt(blob)


def test_callback_state_is_checked() -> None:
    ok = parse_callback("http://127.0.0.1:8765/callback?code=C0DE&state=s1&realmId=123", "s1")
    assert ok.realm_id == "123" and ok.code == "C0DE" and "C0DE" not in repr(ok)
    with pytest.raises(errors.AuthError, match="state"):
        parse_callback("/callback?code=C0DE&state=evil&realmId=123", "s1")
    with pytest.raises(errors.AuthError, match="access_denied"):
        parse_callback("/callback?error=access_denied&state=s1", "s1")
    with pytest.raises(errors.AuthError, match="no code"):
        parse_callback("/callback?state=s1", "s1")
