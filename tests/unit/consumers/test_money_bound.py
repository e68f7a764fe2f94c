"""An absurd amount is input we can never process: the handler dead-letters it (Poison) with
the reason, before any sync (and so before any QBO call)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from consumers.invoices import InvoiceHandler
from consumers.runtime.types import Event, Message, Poison
from sequence_qbo import samples


class _NoSync:
    def sync(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an invalid invoice must not be synced")


def _event(gross: str) -> Event:
    customer = samples.customer(
        "cus_1", "Acme", "a@x.example", "1 St", "Leeds", "LS1 1AA", "GB", "TAXED"
    )
    line = samples.line("l1", "Plan", "1", gross, gross)
    group = {"id": "g1", "title": "Plans", "line_items": [line]}
    invoice = samples.invoice("inv_1", customer, [group], net=gross, gross=gross)
    value = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": dt.datetime.now(dt.UTC),
        "account_id": "acct_1",
        "invoice": invoice,
    }
    return Event(Message("invoice.finalized", 0, 0, b"inv_1", b""), value)


def test_an_absurd_total_is_poison_with_its_reason() -> None:
    outcome = InvoiceHandler(_NoSync()).handle(_event("9" * 19 + ".99"))  # type: ignore[arg-type]
    assert isinstance(outcome, Poison) and outcome.error_class == "InvalidEvent"
    assert "gross_total" in outcome.reason and "18 integer digits" in outcome.reason
