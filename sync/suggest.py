"""Candidate QBO customers for a Sequence customer: same email, same or similar name.

QBO's query language has no OR and LIKE cannot escape `%` (qbo/query.py), so each criterion
is its own query; names are always passed as escaped literals, never pasted into the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qbo import customer as builder
from qbo.client import QboClient
from qbo.query import Query
from store import links
from store.db import Database
from sync import _qbo
from sync.customers import stored_customer
from sync.errors import Invalid

__all__ = ["Candidate", "suggest_customers"]

_PREFIX = 12  # characters of the name a "similar name" search starts with


@dataclass(frozen=True)
class Candidate:
    qbo_customer: dict[str, Any]  # id, name, company_name, email, currency, active
    matched_on: tuple[str, ...]  # "email", "display_name", "company_name", "name_prefix"
    linked_to: str | None  # the Sequence customer already linked to it, if any

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.qbo_customer,
            "matched_on": list(self.matched_on),
            "linked_to": self.linked_to,
        }


def suggest_customers(
    db: Database, client: QboClient, account_id: str, customer_id: str, limit: int = 10
) -> list[Candidate]:
    """Best first: an email match outranks a name match; already-linked ones come last."""
    customer, _ = stored_customer(db, account_id, customer_id)
    matches: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for criterion, query in _queries(customer.email, customer.legal_name):
        for row in _find(client, query, limit):
            matches.setdefault(row["Id"], (row, []))[1].append(criterion)
    candidates = [
        _candidate(db, account_id, client.realm_id, row, how) for row, how in matches.values()
    ]
    candidates.sort(key=_rank)
    return candidates[:limit]


def _queries(email: str, legal_name: str) -> list[tuple[str, Query]]:
    name = _qbo.build(lambda: builder.display_name(legal_name))
    found = [
        ("email", Query("Customer").where("PrimaryEmailAddr", "=", email)),
        ("display_name", Query("Customer").where("DisplayName", "=", name)),
        ("company_name", Query("Customer").where("CompanyName", "=", legal_name)),
    ]
    prefix = name[:_PREFIX].strip()
    if "%" not in prefix and len(prefix) >= 3:  # a literal % cannot be escaped in LIKE
        found.append(("name_prefix", Query("Customer").where("DisplayName", "LIKE", prefix + "%")))
    return found


def _find(client: QboClient, query: Query, limit: int) -> list[dict[str, Any]]:
    # Whether QBO filters on PrimaryEmailAddr is UNCONFIRMED: a refused criterion is skipped,
    # the others still suggest.
    try:
        return _qbo.find(client, query, limit=limit)
    except Invalid:
        return []


def _candidate(
    db: Database, account_id: str, realm_id: str, row: dict[str, Any], how: list[str]
) -> Candidate:
    link = links.by_qbo_customer(db, account_id, realm_id, row["Id"])
    return Candidate(_qbo.summary(row), tuple(how), link.customer_id if link else None)


def _rank(candidate: Candidate) -> tuple[bool, bool, int]:
    return (
        candidate.linked_to is not None,
        "email" not in candidate.matched_on,
        -len(candidate.matched_on),
    )
