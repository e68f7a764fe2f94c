"""The HTTP app's exceptions, split by what the webhook endpoint answers."""

from __future__ import annotations


class ApiError(Exception):
    """Root of the api package's errors."""


class Unavailable(ApiError):
    """A dependency (broker, database) cannot serve us now: answer 503 so Intuit retries."""


class HandoffFailed(Unavailable):
    """The broker did not acknowledge the change notices in time."""


class LookupUnavailable(Unavailable):
    """The realm → account lookup could not be answered."""
