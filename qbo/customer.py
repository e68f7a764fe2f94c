"""Sequence customer snapshot → QBO Customer JSON, and country normalisation.

The mapping field by field: docs/qbo-mapping.md#customers.

DisplayName: QBO forbids ':' in it (it separates parent and sub-customer in FullyQualifiedName),
so each colon, with the spaces around it, becomes " - ": "Müller GmbH: Zürich" → "Müller GmbH -
Zürich". ASCII on purpose: a look-alike such as U+A789 (modifier letter colon) would read the
same on screen but break searching, CSV exports and fonts without the glyph. CompanyName keeps
the legal name as is.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from qbo import _countries
from qbo.build_failure import BuildFailure, Reason
from schemas.models import Address, Customer, TaxStatus

__all__ = [
    "BuildFailure",
    "bill_addr",
    "build_customer",
    "display_name",
    "normalise_country",
    "sparse_customer_update",
]

DISPLAY_NAME_MAX = 500
COMPANY_NAME_MAX = 100  # UNCONFIRMED: QBO's documented CompanyName limit as we read it
# QBO field limits (Line1 500; City/Country/CountrySubDivisionCode 255; PostalCode 30), from
# Intuit's schema: docs/qbo-behaviours.md#entities-and-field-limits
_ADDR_LIMITS = {
    "Line1": 500,
    "Line2": 500,
    "City": 255,
    "CountrySubDivisionCode": 255,
    "PostalCode": 30,
    "Country": 255,
}
_COLON = re.compile(r"\s*:+\s*")
_SPACES = re.compile(r"\s+")


def display_name(legal_name: str) -> str:
    """QBO DisplayName for a legal name: colons replaced (see module doc), spaces collapsed."""
    name = _SPACES.sub(" ", _COLON.sub(" - ", legal_name)).strip()[:DISPLAY_NAME_MAX].strip()
    if not name:
        raise BuildFailure(
            Reason.DISPLAY_NAME_EMPTY, f"legal name {legal_name!r} leaves no QBO DisplayName"
        )
    return name


def build_customer(customer: Customer, *, currency: str | None = None) -> dict[str, Any]:
    """A new QBO Customer. Pass `currency` when multi-currency is on: QBO then needs CurrencyRef,
    and it cannot change once the customer has transactions."""
    payload = _fields(customer)
    if currency is not None:
        payload["CurrencyRef"] = {"value": currency}
    return payload


def sparse_customer_update(snapshot: Customer, qbo_id: str, sync_token: str) -> dict[str, Any]:
    """Sparse update of the fields we own; CurrencyRef is left out (immutable in QBO)."""
    return {"Id": qbo_id, "SyncToken": sync_token, "sparse": True, **_fields(snapshot)}


def bill_addr(address: Address) -> dict[str, str]:
    """QBO BillAddr; fields trimmed to QBO's lengths, empty ones left out."""
    fields = {
        "Line1": address.line1,
        "Line2": address.line2,
        "City": address.town,
        "CountrySubDivisionCode": address.state,
        "PostalCode": address.postcode,
        "Country": address.country,
    }
    return {
        key: value.strip()[: _ADDR_LIMITS[key]]
        for key, value in fields.items()
        if value and value.strip()
    }


def _fields(customer: Customer) -> dict[str, Any]:
    return {
        "DisplayName": display_name(customer.legal_name),
        "CompanyName": customer.legal_name.strip()[:COMPANY_NAME_MAX],
        "PrimaryEmailAddr": {"Address": customer.email},
        "BillAddr": bill_addr(customer.address),
        "Taxable": customer.tax_status is TaxStatus.TAXED,
    }


def normalise_country(value: str | None) -> tuple[str | None, str]:
    """ISO alpha-2 for a country as people write it (alpha-2, alpha-3, English or common local
    name), and a note for the import report saying what was done or why nothing matched."""
    raw = (value or "").strip()
    key = _fold(raw)
    if not key:
        return None, "country is empty"
    if raw in _ALPHA2:
        return raw, "alpha-2"
    if key in _BY_KEY:
        code, how = _BY_KEY[key]
        return code, f"{how} {raw!r} → {code}"
    return None, f"unknown country {raw!r}"


def _fold(text: str) -> str:
    """Case, accents, punctuation and 'the' do not matter: 'U.S.A.' and 'usa' are one key."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    joined = re.sub(r"[.'`]", "", plain.lower().replace("&", " and "))  # U.S.A. → usa
    words = re.sub(r"[^a-z0-9]+", " ", joined).split()
    return " ".join(words[1:] if words[:1] == ["the"] else words)


def _index() -> dict[str, tuple[str, str]]:
    # Later entries win: ISO codes and names over aliases, so an alias never shadows ISO.
    index = {_fold(name): (code, "name") for name, code in _countries.ALIASES.items()}
    for alpha2, alpha3, name in _countries.ISO:
        index[_fold(name)] = (alpha2, "name")
        index[_fold(alpha3)] = (alpha2, "alpha-3")
        index[_fold(alpha2)] = (alpha2, "alpha-2")
    return index


_ALPHA2 = frozenset(alpha2 for alpha2, _, _ in _countries.ISO)
_BY_KEY = _index()
