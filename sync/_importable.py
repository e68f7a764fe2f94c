"""Is a QBO customer importable, and as which Sequence customer? A pure function of its JSON.

A customer is importable only with a primary email and a billing address with line 1, city,
postal code and an ISO alpha-2 country (docs/qbo-mapping.md#importing-customers-from-qbo). QBO
returns countries as people typed them, and since late 2025 some addresses come back as alpha-3
("USA", docs/qbo-behaviours.md#base-urls-and-minorversion), so the
country is normalised first (`qbo.customer.normalise_country`): alpha-3 and names such as
"United Kingdom" become alpha-2, and the import report lists each normalisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from qbo.customer import normalise_country
from schemas.models import Customer

__all__ = ["Importable", "Problem", "Rejected", "examine", "sequence_customer_id"]

# Deliberately loose: QBO already validated the address; this catches blanks and typos such as
# a missing @ or a name typed into the email field.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEPARATORS = re.compile(r"[,;]")  # QBO lets one PrimaryEmailAddr hold several, comma-separated
_ADDRESS = (
    ("Line1", "BillAddr.Line1"),
    ("City", "BillAddr.City"),
    ("PostalCode", "BillAddr.PostalCode"),
)


@dataclass(frozen=True)
class Problem:
    field: str  # QBO field path, e.g. "BillAddr.PostalCode"
    problem: str  # "missing", or "invalid: <why>"
    value: str | None = None


@dataclass(frozen=True)
class Importable:
    customer: Customer
    notes: tuple[str, ...]  # normalisations done, e.g. "alpha-3 'GBR' → GB"


@dataclass(frozen=True)
class Rejected:
    qbo_customer_id: str
    display_name: str
    problems: tuple[Problem, ...]


def sequence_customer_id(realm_id: str, qbo_customer_id: str) -> str:
    """The id an imported customer gets in `customer.imported` (Sequence adopts it): stable,
    so a re-run names the same customer, and unique per realm."""
    return f"qbo_{realm_id}_{qbo_customer_id}"


def examine(obj: dict[str, Any], realm_id: str) -> Importable | Rejected:
    emails, email_problems = _emails(obj)
    address = obj.get("BillAddr") or {}
    country, note, country_problems = _country(address)
    problems = (*email_problems, *_address_problems(address), *country_problems)
    if problems:
        return Rejected(str(obj["Id"]), str(obj.get("DisplayName") or ""), problems)
    customer = Customer.model_validate(
        {
            "id": sequence_customer_id(realm_id, str(obj["Id"])),
            "legal_name": _text(obj.get("CompanyName")) or _text(obj.get("DisplayName")),
            "email": emails[0],
            "billing_emails": tuple(emails[1:]),
            "address": _address(address, country),
            # QBO's Taxable is the closest fact; reverse charge cannot be told from QBO's data.
            "tax_status": "TAXED" if obj.get("Taxable", True) else "TAX_EXEMPT",
        }
    )
    return Importable(customer, (note,) if note != "alpha-2" else ())


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _emails(obj: dict[str, Any]) -> tuple[list[str], tuple[Problem, ...]]:
    raw = _text((obj.get("PrimaryEmailAddr") or {}).get("Address"))
    if not raw:
        return [], (Problem("PrimaryEmailAddr", "missing"),)
    emails = [part.strip() for part in _SEPARATORS.split(raw) if part.strip()]
    bad = [email for email in emails if not _EMAIL.match(email)]
    if bad:
        return [], (
            Problem("PrimaryEmailAddr", f"invalid: {bad[0]!r} is not an email address", raw),
        )
    return emails, ()


def _address_problems(address: dict[str, Any]) -> tuple[Problem, ...]:
    return tuple(Problem(path, "missing") for key, path in _ADDRESS if not _text(address.get(key)))


def _country(address: dict[str, Any]) -> tuple[str | None, str, tuple[Problem, ...]]:
    raw = _text(address.get("Country"))
    if not raw:
        return None, "", (Problem("BillAddr.Country", "missing"),)
    code, note = normalise_country(raw)
    if code is None:
        return None, note, (Problem("BillAddr.Country", f"invalid: {note}", raw),)
    return code, note, ()


def _address(address: dict[str, Any], country: str | None) -> dict[str, Any]:
    return {
        "line1": _text(address["Line1"]),
        "line2": _text(address.get("Line2")) or None,
        "town": _text(address["City"]),
        "state": _text(address.get("CountrySubDivisionCode")) or None,
        "postcode": _text(address["PostalCode"]),
        "country": country,
    }
