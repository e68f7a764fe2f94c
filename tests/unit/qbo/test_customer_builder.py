"""Sequence customer snapshot → QBO Customer JSON (docs/qbo-mapping.md#customers)."""

from __future__ import annotations

from typing import Any

import pytest

from qbo import customer as builder
from qbo.build_failure import Reason
from qbo.customer import BuildFailure
from schemas.models import Address, Customer, TaxStatus

ADDRESS = Address(
    line1="1 Main St", line2=None, town="Leeds", state=None, postcode="LS1 1AA", country="GB"
)


def snapshot(**over: Any) -> Customer:
    fields: dict[str, Any] = dict(
        id="cus_1",
        legal_name="Acme Ltd",
        email="ap@acme.example",
        address=ADDRESS,
        tax_status=TaxStatus.TAXED,
    )
    return Customer(**{**fields, **over})


def test_new_customer_payload_exactly() -> None:
    assert builder.build_customer(snapshot(), currency="GBP") == {
        "DisplayName": "Acme Ltd",
        "CompanyName": "Acme Ltd",
        "PrimaryEmailAddr": {"Address": "ap@acme.example"},
        "BillAddr": {
            "Line1": "1 Main St",
            "City": "Leeds",
            "PostalCode": "LS1 1AA",
            "Country": "GB",
        },
        "CurrencyRef": {"value": "GBP"},
        "Taxable": True,
    }


def test_no_currency_when_multi_currency_is_off() -> None:
    assert "CurrencyRef" not in builder.build_customer(snapshot())


@pytest.mark.parametrize(
    ("status", "taxable"),
    [
        (TaxStatus.TAXED, True),
        (TaxStatus.TAX_EXEMPT, False),
        (TaxStatus.REVERSE_CHARGED, False),
    ],
)
def test_taxable_per_tax_status(status: TaxStatus, taxable: bool) -> None:
    assert builder.build_customer(snapshot(tax_status=status))["Taxable"] is taxable


@pytest.mark.parametrize(
    ("legal_name", "display_name"),
    [
        ("Müller GmbH: Zürich", "Müller GmbH - Zürich"),
        ("A:B", "A - B"),
        ("Ratio 1::2 Ltd", "Ratio 1 - 2 Ltd"),
        ("  Acme\tWidgets \n Ltd  ", "Acme Widgets Ltd"),
        ("東京商事株式会社", "東京商事株式会社"),
        ('O\'Brien & Sons "UK"', 'O\'Brien & Sons "UK"'),
    ],
)
def test_display_name_has_no_colon(legal_name: str, display_name: str) -> None:
    payload = builder.build_customer(snapshot(legal_name=legal_name))
    assert payload["DisplayName"] == display_name
    assert payload["CompanyName"] == legal_name.strip()[:100]


def test_display_name_is_cut_at_500() -> None:
    assert len(builder.display_name("x" * 600)) == 500


@pytest.mark.parametrize("legal_name", ["", "   "])
def test_empty_display_name_is_a_failure(legal_name: str) -> None:
    with pytest.raises(BuildFailure) as failure:
        builder.build_customer(snapshot(legal_name=legal_name))
    assert failure.value.reason_code == Reason.DISPLAY_NAME_EMPTY


def test_bill_addr_maps_every_field_and_trims_to_qbo_limits() -> None:
    address = Address(
        line1="L" * 600, line2="Floor 2", town="Leeds", state="WYK", postcode="P" * 40, country="GB"
    )
    assert builder.bill_addr(address) == {
        "Line1": "L" * 500,
        "Line2": "Floor 2",
        "City": "Leeds",
        "CountrySubDivisionCode": "WYK",
        "PostalCode": "P" * 30,
        "Country": "GB",
    }


def test_sparse_update_carries_id_token_and_our_fields_but_not_currency() -> None:
    payload = builder.sparse_customer_update(snapshot(legal_name="Acme: North"), "58", "3")
    assert payload == {
        "Id": "58",
        "SyncToken": "3",
        "sparse": True,
        **builder.build_customer(snapshot(legal_name="Acme: North")),
    }
    assert payload["DisplayName"] == "Acme - North"
    assert "CurrencyRef" not in payload
