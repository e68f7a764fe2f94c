"""Which QBO customers are importable, and what each rejection says (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from sync._importable import Importable, Problem, Rejected, examine

REALM = "123"


def _qbo(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": "58",
        "DisplayName": "Acme",
        "CompanyName": "Acme Ltd",
        "Taxable": True,
        "PrimaryEmailAddr": {"Address": "ap@acme.example"},
        "BillAddr": {
            "Line1": "1 Main St",
            "Line2": "Floor 2",
            "City": "Leeds",
            "CountrySubDivisionCode": "WYK",
            "PostalCode": "LS1 1AA",
            "Country": "GB",
        },
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def _addr(**overrides: Any) -> dict[str, Any]:
    return {**_qbo()["BillAddr"], **overrides}


def test_a_complete_customer_becomes_a_sequence_snapshot() -> None:
    found = examine(_qbo(), REALM)
    assert isinstance(found, Importable) and found.notes == ()
    assert found.customer.model_dump(mode="json") == {
        "id": "qbo_123_58",
        "legal_name": "Acme Ltd",
        "email": "ap@acme.example",
        "billing_emails": [],
        "address": {
            "line1": "1 Main St",
            "line2": "Floor 2",
            "town": "Leeds",
            "state": "WYK",
            "postcode": "LS1 1AA",
            "country": "GB",
        },
        "tax_status": "TAXED",
        "tax_id": None,
        "archived": False,
    }


@pytest.mark.parametrize(
    "country, code, note",
    [
        ("GBR", "GB", "alpha-3 'GBR' → GB"),
        ("USA", "US", "alpha-3 'USA' → US"),
        ("United Kingdom", "GB", "name 'United Kingdom' → GB"),
        ("germany", "DE", "name 'germany' → DE"),
    ],
)
def test_countries_are_normalised_and_noted(country: str, code: str, note: str) -> None:
    found = examine(_qbo(BillAddr=_addr(Country=country)), REALM)
    assert isinstance(found, Importable)
    assert found.customer.address.country == code and found.notes == (note,)


@pytest.mark.parametrize(
    "overrides, problems",
    [
        ({"PrimaryEmailAddr": None}, [("PrimaryEmailAddr", "missing")]),
        ({"PrimaryEmailAddr": {"Address": "  "}}, [("PrimaryEmailAddr", "missing")]),
        (
            {"PrimaryEmailAddr": {"Address": "a@b.example, nope"}},
            [("PrimaryEmailAddr", "invalid: 'nope' is not an email address")],
        ),
        (
            {"BillAddr": None},
            [
                ("BillAddr.Line1", "missing"),
                ("BillAddr.City", "missing"),
                ("BillAddr.PostalCode", "missing"),
                ("BillAddr.Country", "missing"),
            ],
        ),
        (
            {"BillAddr": _addr(City="", PostalCode=None)},
            [("BillAddr.City", "missing"), ("BillAddr.PostalCode", "missing")],
        ),
        (
            {"BillAddr": _addr(Country="Narnia")},
            [("BillAddr.Country", "invalid: unknown country 'Narnia'")],
        ),
        (
            {"PrimaryEmailAddr": None, "BillAddr": _addr(Line1=" ")},
            [("PrimaryEmailAddr", "missing"), ("BillAddr.Line1", "missing")],
        ),
    ],
)
def test_each_missing_or_invalid_field_is_reported(
    overrides: dict[str, Any], problems: list[tuple[str, str]]
) -> None:
    found = examine(_qbo(**overrides), REALM)
    assert isinstance(found, Rejected)
    assert (found.qbo_customer_id, found.display_name) == ("58", "Acme")
    assert [(p.field, p.problem) for p in found.problems] == problems


def test_several_emails_become_primary_and_billing_emails() -> None:
    found = examine(
        _qbo(PrimaryEmailAddr={"Address": "a@x.example; b@x.example,c@x.example"}), REALM
    )
    assert isinstance(found, Importable)
    assert found.customer.email == "a@x.example"
    assert found.customer.billing_emails == ("b@x.example", "c@x.example")


def test_non_taxable_customers_are_tax_exempt_and_names_fall_back() -> None:
    found = examine(_qbo(Taxable=False, CompanyName=None), REALM)
    assert isinstance(found, Importable)
    assert found.customer.tax_status == "TAX_EXEMPT" and found.customer.legal_name == "Acme"


def test_problem_keeps_the_raw_value() -> None:
    found = examine(_qbo(BillAddr=_addr(Country="Atlantis")), REALM)
    assert isinstance(found, Rejected)
    assert found.problems == (
        Problem("BillAddr.Country", "invalid: unknown country 'Atlantis'", "Atlantis"),
    )
