"""The command line's own error, in a module of its own so every command can import it."""

from __future__ import annotations

__all__ = ["CliError"]


class CliError(Exception):
    """A problem to report as one sentence and exit code 2 (bad input or set-up)."""
