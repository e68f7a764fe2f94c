"""What the QBO client reads of the service's configuration.

A protocol, not the settings class: `qbo/` sits below the composition root, which builds the
settings (`sequence_qbo.settings.Settings` is one of these) and passes them in.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import SecretStr

__all__ = ["QboConfig"]


class QboConfig(Protocol):
    @property
    def qbo_environment(self) -> str:
        """production, sandbox or emulator."""

    @property
    def qbo_base_url(self) -> str | None:
        """Overrides the environment's API base URL (the emulator)."""

    @property
    def qbo_client_id(self) -> str | None: ...

    @property
    def qbo_client_secret(self) -> SecretStr | None: ...

    @property
    def qbo_redirect_uri(self) -> str: ...

    @property
    def token_encryption_key(self) -> SecretStr | None:
        """Fernet key for the tokens at rest."""
