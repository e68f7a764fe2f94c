"""Where a client gets its access token, and how it asks for a new one after a 401."""

from __future__ import annotations

from typing import Protocol

__all__ = ["StaticToken", "TokenSource"]


class TokenSource(Protocol):
    def access_token(self) -> str:
        """A token valid for a while yet (refreshed beforehand when close to expiry)."""
        ...

    def refresh(self, *, stale: str) -> str:
        """A new token, unless someone already replaced `stale` (then that one)."""
        ...


class StaticToken:
    """A fixed token (tests, or the emulator's admin-minted tokens); cannot refresh."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"

    def access_token(self) -> str:
        return self._token

    def refresh(self, *, stale: str) -> str:
        return self._token
