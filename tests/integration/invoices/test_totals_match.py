"""QBO's total equals Sequence's gross total, to the cent, on 1,000 random invoices synced to
the emulator: fractional usage quantities, rates with many decimals, several lines and groups.

US realms: the explicit TotalTax we send is honoured. UK realms: QBO computes VAT per rate over
the sum of the lines, so a Sequence invoice that computes VAT the same way matches too."""

from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from schemas.models import Invoice
from sequence_qbo import samples
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world

pytestmark = pytest.mark.integration

CENT = Decimal("0.01")
US_CUSTOMER = {
    **UK_CUSTOMER,
    "id": "cus_us",
    "address": {**UK_CUSTOMER["address"], "country": "US"},
}


def _random_line(rng: random.Random, n: int) -> dict[str, Any]:
    qty = Decimal(rng.randint(1, 5_000_000)) / Decimal(10) ** rng.randint(0, 4)
    rate = Decimal(rng.randint(1, 9_999_999)) / Decimal(10) ** rng.randint(2, 9)
    amount = (qty * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return samples.line(f"l{n}", f"Usage {n}", str(qty), str(rate), str(amount or CENT))


def _random_invoice(
    rng: random.Random, i: int, customer: dict[str, Any], tax_of: Any
) -> dict[str, Any]:
    groups = [
        samples.group(
            f"g{g}", f"Group {g}", [_random_line(rng, g * 10 + n) for n in range(rng.randint(1, 4))]
        )
        for g in range(rng.randint(1, 3))
    ]
    for g in groups:  # a line's amount is what Sequence billed (at least a cent)
        for line in g["line_items"]:
            line["amount"] = str(max(Decimal(line["amount"]), CENT))
    net = sum(Decimal(ln["amount"]) for g in groups for ln in g["line_items"])
    tax = tax_of(net)
    return samples.invoice(
        f"rnd_{i}",
        customer,
        groups,
        number=f"R{i:05d}",
        currency="USD" if customer is US_CUSTOMER else "GBP",
        net=str(net),
        tax=str(tax),
        gross=str(net + tax),
    )


def _sync_all(world: World, invoices: list[dict[str, Any]]) -> list[Decimal]:
    sync = world.sync_service()
    differences = []
    for body in invoices:
        result = sync.sync(
            world.c.account_id, Invoice.model_validate(body), dt.datetime.now(dt.UTC)
        )
        assert result.outcome == "created", (result.reason_code, result.message)
        qbo = world.client.get("Invoice", result.qbo_id)
        differences.append(Decimal(str(qbo["TotalAmt"])) - Decimal(body["gross_total"]))
    return differences


def test_us_totals_match_on_500_random_invoices(
    db, settings, qbo_sandbox, schema_registry_url
) -> None:
    world = make_world(db, settings, qbo_sandbox, schema_registry_url, "US")
    world.link(US_CUSTOMER)
    world.settings(fallback_item_id=world.item_id())
    rng = random.Random(20261125)
    # Sales tax as Sequence computed it: any rate, rounded its own way.
    invoices = [
        _random_invoice(
            rng,
            i,
            US_CUSTOMER,
            lambda net: (net * Decimal(rng.choice(["0.0725", "0.08625", "0.0475", "0"]))).quantize(
                CENT, ROUND_HALF_EVEN
            ),
        )
        for i in range(500)
    ]
    differences = _sync_all(world, invoices)
    assert set(differences) == {Decimal("0.00")}


def test_uk_totals_match_on_500_random_invoices(
    db, settings, qbo_sandbox, schema_registry_url
) -> None:
    world = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    world.link(UK_CUSTOMER)
    world.settings(fallback_item_id=world.item_id(), fallback_tax_code_id="3")
    rng = random.Random(11252026)
    invoices = [
        _random_invoice(
            rng, i, UK_CUSTOMER, lambda net: (net * Decimal("0.2")).quantize(CENT, ROUND_HALF_UP)
        )
        for i in range(500)
    ]
    differences = _sync_all(world, invoices)
    assert set(differences) == {Decimal("0.00")}
