"""From a polled record to the event a handler gets, and what logs may say about it."""

from __future__ import annotations

import logging

from consumers.runtime.types import Decoder, Event, Handler, Message, Poison, Retry
from schemas.serde import RegistryUnavailable, UndecodableMessage

log = logging.getLogger(__name__)


def decode(decoder: Decoder, handler: Handler, message: Message) -> Event | Poison | Retry:
    """The event; Poison when the bytes can never be read; Retry when the registry is down.

    Any other exception is a bug of the decoder, not of the input: retried, never DLQ'd."""
    try:
        value = decoder.decode(handler.event, message.value)
    except UndecodableMessage as exc:
        return Poison(type(exc).__name__, str(exc))
    except RegistryUnavailable as exc:
        return Retry(str(exc), after=1.0, scope="key")
    except Exception as exc:
        log.error("decoding %s failed unexpectedly; retrying", where(message), exc_info=True)
        return Retry(f"{type(exc).__name__}: {exc}", after=0.0, scope="key")
    return Event(message, value)


def group_of(handler: Handler, event: Event | None) -> str:
    """The concurrency group: `handler.group_of(event)` when the handler has one, else the
    account (one account is one QBO realm). Undecoded records share the group ""."""
    if event is None:
        return ""
    custom = getattr(handler, "group_of", None)
    return str(custom(event)) if callable(custom) else event.account_id


def where(m: Message) -> str:
    return f"{m.topic}[{m.partition}]@{m.offset}"


def log_fields(event: Event) -> dict[str, str]:
    """Context for structured logs: identifiers only, never payloads (they hold personal data)."""
    v = event.value
    fields = {
        "event_id": v.get("event_id"),
        "account_id": v.get("account_id"),
        "realm_id": v.get("realm_id"),
    }
    return {k: str(x) for k, x in fields.items() if x}
