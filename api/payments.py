"""The admin API's payment routes (read-only): each invoice's payment history as QBO reported it,
the versions `invoice.payment_status_changed` announces (docs/events.md), under
`/admin/v1/accounts/{account_id}/payments`. Same bearer token and error shape as `api.admin`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api import admin
from api.admin import AdminDeps
from schemas.money import money_text
from store import reconcile
from store.db import Database, Row

__all__ = ["InvoicePayments", "router"]

_STATUS = {"unpaid": "UNPAID", "partial": "PARTIALLY_PAID", "paid": "PAID"}


class PaymentApplied(BaseModel):
    qbo_payment_id: str
    txn_date: dt.date | None
    amount: str = Field(description="applied to the invoice; decimal string, minor units")


class PaymentVersion(BaseModel):
    version: int
    status: Literal["UNPAID", "PARTIALLY_PAID", "PAID"]
    amount_paid: str = Field(description="decimal string with the currency's minor units")
    balance: str
    payments: list[PaymentApplied]
    qbo_changed_at: dt.datetime = Field(description="the invoice's LastUpdatedTime as read")
    event_id: str
    announced_as: str | None = Field(
        description="invoice.payment_status_changed, paid_in_qbo_ignored (qbo.sync_status), "
        "or null (a Stripe-link invoice not paid in QBO)"
    )
    sent_at: dt.datetime | None = Field(description="null while queued in the outbox")


class InvoicePayments(BaseModel):
    invoice_id: str
    invoice_number: str | None
    realm_id: str
    qbo_invoice_id: str
    currency: str
    versions: list[PaymentVersion]


def _version(row: Mapping[str, Any]) -> PaymentVersion:
    currency = row["currency"]
    return PaymentVersion(
        version=row["version"],
        status=_STATUS[row["status"]],  # type: ignore[arg-type]
        amount_paid=money_text(row["amount_paid"], currency),
        balance=money_text(row["balance"], currency),
        payments=[
            PaymentApplied(
                qbo_payment_id=p["qbo_payment_id"],
                txn_date=p.get("txn_date"),
                amount=money_text(Decimal(p["amount"]), currency),
            )
            for p in row["payments"]
        ],
        qbo_changed_at=row["occurred_at"],
        event_id=str(row["event_id"]),
        announced_as=row["announce"],
        sent_at=row["sent_at"],
    )


def group(rows: Iterable[Row]) -> list[InvoicePayments]:
    """Rows in (invoice, QBO invoice, version) order → one entry per QBO invoice."""
    out: dict[tuple[str, str, str], InvoicePayments] = {}
    for row in rows:
        key = (row["invoice_id"], row["realm_id"], row["qbo_invoice_id"])
        if key not in out:
            out[key] = InvoicePayments(
                invoice_id=row["invoice_id"],
                invoice_number=row["invoice_number"],
                realm_id=row["realm_id"],
                qbo_invoice_id=row["qbo_invoice_id"],
                currency=row["currency"],
                versions=[],
            )
        out[key].versions.append(_version(row))
    return list(out.values())


def router(deps: AdminDeps) -> APIRouter:
    r = APIRouter(
        prefix=admin.PREFIX,
        tags=["payments"],
        dependencies=[Depends(admin.authorizer(deps.token()))],
    )
    _routes(r, deps.services.db)
    return r


def _routes(r: APIRouter, db: Database) -> None:
    @r.get("/payments", summary="Payment history of the account's invoices, as read from QBO")
    def payments(
        account_id: str,
        limit: int = Query(1000, ge=1, le=10_000, description="at most this many versions"),
    ) -> list[InvoicePayments]:
        return group(reconcile.payment_history(db, account_id, limit=limit))

    @r.get("/payments/{invoice_id}", summary="Payment history of one Sequence invoice")
    def invoice_payments(account_id: str, invoice_id: str) -> list[InvoicePayments]:
        found = group(reconcile.payment_history(db, account_id, invoice_id=invoice_id))
        if not found:
            raise admin.problem(
                404, "no_payment_history", f"no payment state recorded for invoice {invoice_id}"
            )
        return found
