"""Small Sequence documents for the document-sync tests: one line, UK VAT at 20%."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sequence_qbo import samples


def customer(cid: str, name: str) -> dict[str, Any]:
    return samples.customer(
        cid, name, f"ap@{cid}.example", "1 Main St", "Leeds", "LS1 1AA", "GB", "TAXED"
    )


def invoice(
    iid: str,
    cust: dict[str, Any],
    *,
    number: str | None = None,
    net: str = "100.00",
    tax: str = "20.00",
    status: str = "FINAL",
) -> dict[str, Any]:
    line = samples.line("l1", "Pro plan", "1", net, net)
    return samples.invoice(
        iid,
        cust,
        [samples.group("g1", "", [line])],
        number=number,
        net=net,
        tax=tax,
        gross=str(Decimal(net) + Decimal(tax)),
        status=status,
    )


def credit_note(
    cid: str, cust: dict[str, Any], *, invoice_id: str, invoice_number: str, number: str
) -> dict[str, Any]:
    note = {
        **invoice(cid, cust, number=number, net="10.00", tax="2.00"),
        "invoice_id": invoice_id,
        "invoice_number": invoice_number,
        "issue_date": dt.date(2026, 11, 5),
    }
    del note["invoice_date"]
    return note
