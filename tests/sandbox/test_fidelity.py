"""The emulator's GET after a create, diffed against key paths of recorded QBO objects.

Each fixture in tests/sandbox/fixtures/ names its public sources (quickbooks-ruby's recorded
responses, Intuit's sample-company objects): see keypaths.py for the format.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.sandbox import keypaths
from tests.sandbox.support import Qbo

ADDRESS = {"City": "Santa Cruz", "CountrySubDivisionCode": "CA", "Country": "USA"}


def _setup(qbo: Qbo) -> dict[str, str]:
    """The objects a fixture's create refers to as $customer, $taxable_item, ..."""
    customer = qbo.create("Customer", keypaths.load("customer")["create"])
    taxable = qbo.create(
        "Item",
        {
            "Name": "Rock Fountain",
            "Type": "Service",
            "Taxable": True,
            "IncomeAccountRef": {"value": "1"},
        },
    )
    plain = qbo.create(
        "Item",
        {"Name": "Design", "Type": "Service", "Taxable": False, "IncomeAccountRef": {"value": "2"}},
    )
    invoice = qbo.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "DocNumber": "INV-77",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 300,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": plain["Id"]},
                        "TaxCodeRef": {"value": "NON"},
                    },
                }
            ],
        },
    )
    return {
        "$customer": customer["Id"],
        "$taxable_item": taxable["Id"],
        "$plain_item": plain["Id"],
        "$invoice": invoice["Id"],
    }


def _fill(body: Any, refs: dict[str, str]) -> Any:
    if isinstance(body, dict):
        return {k: _fill(v, refs) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, refs) for v in body]
    return refs.get(body, body) if isinstance(body, str) else body


def emulator_answer(make_qbo: Callable[..., Qbo], fixture: dict[str, Any]) -> dict[str, Any]:
    """GET of the fixture's object: created (after the shared setup) or seeded."""
    qbo = make_qbo(fixture["profile"], **fixture.get("realm", {}))
    entity = fixture["entity"]
    if "read" in fixture:
        path = fixture["read"].replace("{realm}", qbo.realm_id)
        return qbo.ok(qbo.get(path), entity)
    refs = _setup(qbo) if entity != "Customer" else {}
    created = qbo.create(entity, _fill(fixture["create"], refs))
    answer = qbo.read(entity, created["Id"])
    for key in fixture.get("same_as_customer", []):
        customer = qbo.read("Customer", refs["$customer"])
        assert answer[key] == customer[key], key
    return answer


@pytest.mark.parametrize("name", keypaths.names())
def test_get_after_create_has_the_recorded_key_paths(make_qbo, name):
    fixture = keypaths.load(name)
    answer = emulator_answer(make_qbo, fixture)
    assert keypaths.problems(fixture, answer) == []


def test_every_entity_the_service_uses_has_a_fixture():
    entities = {keypaths.load(n)["entity"] for n in keypaths.names()}
    assert entities == {
        "Customer",
        "Item",
        "Account",
        "TaxCode",
        "TaxRate",
        "Invoice",
        "CreditMemo",
        "Payment",
        "Preferences",
        "CompanyInfo",
    }
    for name in keypaths.names():
        assert keypaths.load(name)["sources"], name


def test_the_diff_reports_missing_paths_wrong_types_and_values(make_qbo):
    # The check must be able to fail: the emulator's own answers, broken the ways it once differed
    # from recorded QBO objects (line TaxCodeRefs, the SubTotal line, number types, address Ids).
    invoice_fixture = keypaths.load("invoice")
    invoice = copy.deepcopy(emulator_answer(make_qbo, invoice_fixture))
    del invoice["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]
    invoice["Line"][1]["SalesItemLineDetail"]["TaxCodeRef"]["value"] = "TAX"
    invoice["Line"].pop()  # no SubTotalLineDetail line
    invoice["TotalAmt"] = "537.50"
    assert keypaths.problems(invoice_fixture, invoice) == [
        "Line[0].SalesItemLineDetail.TaxCodeRef.value: missing",
        "Line[2].Amount: missing",
        "Line[2].DetailType: missing",
        "Line[2].SubTotalLineDetail: missing",
        "TotalAmt: str '537.50' is not number",
        "Line[1].SalesItemLineDetail.TaxCodeRef.value: 'TAX' != 'NON'",
    ]
    customer_fixture = keypaths.load("customer")
    customer = copy.deepcopy(emulator_answer(make_qbo, customer_fixture))
    del customer["BillAddr"]["Id"]
    customer["ShipAddr"]["Id"] = 7
    assert keypaths.problems(customer_fixture, customer) == [
        "BillAddr.Id: missing",
        "ShipAddr.Id: int 7 is not id",
    ]
    item_fixture = keypaths.load("item")
    item = copy.deepcopy(emulator_answer(make_qbo, item_fixture))
    del item["PurchaseCost"]
    assert keypaths.problems(item_fixture, item) == ["PurchaseCost: missing"]
    payment_fixture = keypaths.load("payment")
    payment = copy.deepcopy(emulator_answer(make_qbo, payment_fixture))
    payment["DepositToAccountRef"]["name"] = "Undeposited Funds"
    assert keypaths.problems(payment_fixture, payment) == [
        "DepositToAccountRef.name: present, QBO leaves it out"
    ]
