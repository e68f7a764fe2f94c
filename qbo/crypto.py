"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) with the key from settings.

Refusing to run without a key is deliberate: a fallback key, or plaintext, would leave every
connected company's refresh token readable by anyone with a database dump.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from qbo import errors

__all__ = ["TokenCipher"]

_HOW_TO = (
    "set SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY to a Fernet key; generate one with: "
    ".venv/bin/python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


class TokenCipher:
    """Encrypts and decrypts OAuth tokens. Never logs or repeats a token or the key."""

    def __init__(self, key: SecretStr | str | None) -> None:
        raw = key.get_secret_value() if isinstance(key, SecretStr) else key
        if not raw:
            raise errors.ConfigError(f"no token encryption key: {_HOW_TO}")
        try:
            self._fernet = Fernet(raw.encode())
        except (ValueError, TypeError):
            # `from None`: the original error is not useful and we never echo key material.
            raise errors.ConfigError(
                f"the token encryption key is not a valid Fernet key: {_HOW_TO}"
            ) from None

    def __repr__(self) -> str:
        return "TokenCipher(<key hidden>)"

    def encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode())

    def decrypt(self, blob: bytes | memoryview) -> str:
        try:
            return self._fernet.decrypt(bytes(blob)).decode()
        except InvalidToken:
            raise errors.TokenUndecryptable(
                "stored QBO tokens cannot be decrypted with the configured key (was "
                "SEQUENCE_QBO_TOKEN_ENCRYPTION_KEY changed?); run `sequence-qbo connect` again"
            ) from None
