"""Who holds a document's lease: one delivery of one record, the same across its retries."""

from __future__ import annotations

import uuid

from consumers.runtime.types import Event

# Another process (or this one after a restart) never takes a lease held under this prefix.
_PROCESS = uuid.uuid4().hex[:16]


def holder(event: Event) -> str:
    """The engine hands every attempt of one delivery the same `Event` object, and a
    redelivery (after a rebalance, even in this process) a new one: so a retry can take back
    its own lease, and a zombie attempt of an earlier delivery never shares it."""
    return f"{_PROCESS}-{id(event):x}"
