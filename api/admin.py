"""The admin HTTP API that Sequence's dashboard calls (docs/operating.md#the-admin-api): the
same service functions as the CLI, as JSON under `/admin/v1/accounts/{account_id}/…`.

Every route needs `Authorization: Bearer <SEQUENCE_QBO_ADMIN_TOKEN>` (compared in constant
time); without a configured token the API refuses everything. A refused operation answers
4xx/503 with `{"detail": {"reason", "message", "details"}}`; `reason` is machine-readable.
The OpenAPI document is FastAPI's `/openapi.json` (`/docs` renders it).
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, RootModel, SecretStr

from store import links
from store.db import Row
from sync import customers, products, suggest, tax
from sync import settings as settings_service
from sync.deps import Deps
from sync.documents import DocumentSync
from sync.errors import ServiceError

if TYPE_CHECKING:
    from api.jobs import JobRunner
    from api.operations import Operations

__all__ = ["ERRORS", "PREFIX", "AdminDeps", "Problem", "authorizer", "call", "problem", "router"]

PREFIX = "/admin/v1/accounts/{account_id}"

T = TypeVar("T")


@dataclass(frozen=True)
class AdminDeps:
    admin_token: SecretStr | str | None  # settings.admin_token; None refuses every request
    services: Deps
    report_dir: Path = Path(".")  # where customer import reports are written
    # The DocumentSync of the resync routes, asked for per request (serve caches the one it
    # builds); None: those routes answer 503 resync_unavailable.
    document_sync: Callable[[], DocumentSync] | None = None
    # DLQ, topic replay (Kafka): handed in by `serve`; None: those routes answer 503.
    operations: Operations | None = None
    # Starts connecting QuickBooks for an account: Intuit's authorize URL (`sync.connect.begin`,
    # as `POST …/connect` does); None: the console offers no connect button.
    begin_connect: Callable[[str], str] | None = None
    # Where the console links QBO objects: QuickBooks' pages, or the emulator's
    # (settings.qbo_environment, settings.qbo_base_url).
    qbo_environment: str = "sandbox"
    qbo_base_url: str | None = None
    # Names this serving process in `jobs.owner` (stable across restarts of one server).
    job_owner: str = socket.gethostname()

    @functools.cached_property
    def jobs(self) -> JobRunner:
        """The runner of this server's background jobs (built on first use)."""
        from api.jobs import JobRunner

        return JobRunner(self.services.db, self.job_owner)

    def token(self) -> str | None:
        token = self.admin_token
        raw = token.get_secret_value() if isinstance(token, SecretStr) else token
        return raw or None


class LinkIn(BaseModel):
    qbo_customer_id: str = Field(min_length=1)
    expected_currency: str | None = Field(None, pattern="^[A-Za-z]{3}$")


class CreateIn(BaseModel):
    currency: str | None = Field(
        None, pattern="^[A-Za-z]{3}$", description="required when multi-currency is on"
    )


class MapProductIn(BaseModel):
    name: str = Field(min_length=1, description="the product's name; the item's (≤ 100)")
    income_account_id: str = Field(min_length=1)


class LinkProductIn(BaseModel):
    item_id: str = Field(min_length=1)


class FallbackItemIn(BaseModel):
    name: str = Field("Sequence billing", min_length=1)
    income_account_id: str = Field(min_length=1)


class TaxMappingIn(BaseModel):
    tax_code_id: str = Field(min_length=1)


class SettingsIn(BaseModel):
    """Only the fields sent change; null clears an optional one."""

    merchant_email: str | None = None
    txn_date_source: str | None = None
    fallback_item_id: str | None = None
    fallback_tax_code_id: str | None = None
    exempt_tax_code_id: str | None = None
    reverse_charge_tax_code_id: str | None = None
    auto_create_customers: bool | None = None


# -- responses -----------------------------------------------------------------------------


class ProblemDetail(BaseModel):
    reason: str = Field(description="machine-readable, e.g. not_connected")
    message: str
    details: dict[str, Any] = Field(description="what the reason is about (ids, the conflict)")


class Problem(BaseModel):
    """A refused operation."""

    detail: ProblemDetail


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Invalid(BaseModel):
    """A request that does not pass validation (FastAPI's own answer)."""

    detail: list[ValidationIssue]


class Unparsable(BaseModel):
    """A body that is not JSON."""

    detail: str


class Unprocessable(RootModel[Problem | Invalid]):
    """422: the request's values are refused by the validation or by the service."""


# The errors every admin route may answer, in the OpenAPI document.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Unparsable, "description": "the body is not JSON"},
    401: {"model": Problem, "description": "no or a wrong bearer token"},
    404: {"model": Problem, "description": "not found (the reason says what)"},
    409: {"model": Problem, "description": "a conflict, e.g. not_connected, duplicate_name"},
    422: {"model": Unprocessable, "description": "invalid values"},
    503: {"model": Problem, "description": "unavailable: QBO, the admin token, a dependency"},
}


class QboNameOut(BaseModel):
    """The few fields of a QBO customer or item people need to recognise it."""

    id: str | None = None
    name: str | None = None
    company_name: str | None = None
    email: str | None = None
    currency: str | None = None
    active: bool = True


class LinkOut(BaseModel):
    account_id: str
    customer_id: str
    realm_id: str
    qbo_customer_id: str
    qbo_sync_token: str | None
    currency: str | None
    synced_hash: str | None
    origin: str


class LinkedCustomerOut(LinkOut):
    legal_name: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class LinkResultOut(BaseModel):
    link: LinkOut
    resynced: list[str] = Field(description="documents asked to sync again")
    qbo_customer: QboNameOut


class SuggestionOut(QboNameOut):
    matched_on: list[str] = Field(description="email, display_name, company_name, name_prefix")
    linked_to: str | None = Field(description="the Sequence customer already linked to it")


class IncomeAccountOut(BaseModel):
    id: str
    name: str | None
    number: str | None
    type: str | None
    sub_type: str | None


class ProductMappingOut(BaseModel):
    account_id: str
    product_id: str
    realm_id: str
    qbo_item_id: str
    item_name: str
    origin: str
    created_at: dt.datetime
    updated_at: dt.datetime


class TaxCodeOut(BaseModel):
    id: str
    name: str | None
    description: str | None
    taxable: bool | None
    group: bool | None
    active: bool


class TaxMappingOut(BaseModel):
    account_id: str
    tax_category_id: str
    realm_id: str
    qbo_tax_code_id: str
    updated_at: dt.datetime


class SettingsOut(BaseModel):
    account_id: str
    merchant_email: str | None
    txn_date_source: str
    fallback_item_id: str | None
    fallback_tax_code_id: str | None
    exempt_tax_code_id: str | None
    reverse_charge_tax_code_id: str | None
    auto_create_customers: bool


def _pick(model: type[BaseModel], row: Row | dict[str, Any]) -> dict[str, Any]:
    """The row's fields the model declares (store rows carry more columns)."""
    return {k: row[k] for k in model.model_fields if k in row}


def call(run: Callable[[], T]) -> T:
    """Runs a service call; its `ServiceError` becomes the HTTP error the dashboard reads."""
    try:
        return run()
    except ServiceError as exc:
        raise HTTPException(exc.http_status, detail=exc.as_dict()) from exc


def problem(
    status: int,
    reason: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPException:
    """An HTTP error in the admin API's shape: `{"detail": {"reason", "message", "details"}}`."""
    body = {"reason": reason, "message": message, "details": details or {}}
    return HTTPException(status, detail=body, headers=headers)


def authorizer(token: str | None) -> Callable[..., None]:
    """The bearer-token dependency of every admin route (the status page's too)."""
    bearer = HTTPBearer(auto_error=False, description="SEQUENCE_QBO_ADMIN_TOKEN")

    def authorize(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:  # noqa: B008
        if token is None:
            raise problem(503, "admin_api_disabled", "no admin token is configured")
        given = creds.credentials if creds is not None else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise problem(
                401,
                "unauthorized",
                "a valid bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return authorize


def router(deps: AdminDeps) -> APIRouter:
    r = APIRouter(
        prefix=PREFIX,
        tags=["admin"],
        dependencies=[Depends(authorizer(deps.token()))],
        responses=ERRORS,
    )
    _customer_routes(r, deps)
    _product_routes(r, deps.services)
    _tax_routes(r, deps.services)
    _settings_routes(r, deps.services)
    return r


def _customer_routes(r: APIRouter, deps: AdminDeps) -> None:
    d = deps.services

    @r.get("/customers", summary="Linked customers")
    def linked(account_id: str) -> list[LinkedCustomerOut]:
        return [
            LinkedCustomerOut(**_pick(LinkedCustomerOut, row))
            for row in links.list_links(d.db, account_id)
        ]

    @r.get("/customers/{customer_id}/suggestions", summary="QBO customers that may be this one")
    def suggestions(account_id: str, customer_id: str) -> list[SuggestionOut]:
        found = call(
            lambda: suggest.suggest_customers(d.db, d.client(account_id), account_id, customer_id)
        )
        return [SuggestionOut(**c.as_dict()) for c in found]

    @r.post("/customers/{customer_id}/link", summary="Link to an existing QBO customer")
    def link(account_id: str, customer_id: str, body: LinkIn) -> LinkResultOut:
        result = call(
            lambda: customers.link_customer(
                d.db,
                d.client(account_id),
                d.pub,
                account_id,
                customer_id,
                body.qbo_customer_id,
                expected_currency=body.expected_currency,
            )
        )
        return LinkResultOut.model_validate(result.as_dict())

    @r.post("/customers/{customer_id}/create", summary="Create the QBO customer and link it")
    def create(account_id: str, customer_id: str, body: CreateIn) -> LinkResultOut:
        result = call(
            lambda: customers.create_customer(
                d.db, d.client(account_id), d.pub, account_id, customer_id, currency=body.currency
            )
        )
        return LinkResultOut.model_validate(result.as_dict())


def _product_routes(r: APIRouter, d: Deps) -> None:
    @r.get("/income-accounts", summary="The QBO company's income accounts")
    def income_accounts(account_id: str) -> list[IncomeAccountOut]:
        rows = call(lambda: products.income_accounts(d.client(account_id)))
        return [IncomeAccountOut(**row) for row in rows]

    @r.get("/products", summary="Product → item mappings")
    def mapped(account_id: str) -> list[ProductMappingOut]:
        return [
            ProductMappingOut(**_pick(ProductMappingOut, row))
            for row in products.product_mappings(d.db, account_id)
        ]

    @r.post("/products/{product_id}/map", summary="Create a Service item for the product")
    def map_product(account_id: str, product_id: str, body: MapProductIn) -> ProductMappingOut:
        row = call(
            lambda: products.map_product(
                d.db,
                d.client(account_id),
                account_id,
                product_id,
                body.name,
                body.income_account_id,
            )
        )
        return ProductMappingOut(**_pick(ProductMappingOut, row))

    @r.post("/products/{product_id}/link", summary="Map the product to an existing item")
    def link_product(account_id: str, product_id: str, body: LinkProductIn) -> ProductMappingOut:
        row = call(
            lambda: products.link_product(
                d.db, d.client(account_id), account_id, product_id, body.item_id
            )
        )
        return ProductMappingOut(**_pick(ProductMappingOut, row))

    @r.post("/fallback-item", summary="Create the item unmapped products use")
    def fallback_item(account_id: str, body: FallbackItemIn) -> QboNameOut:
        item = call(
            lambda: products.create_fallback_item(
                d.db, d.client(account_id), account_id, body.name, body.income_account_id
            )
        )
        return QboNameOut(**item)


def _tax_routes(r: APIRouter, d: Deps) -> None:
    @r.get("/tax-codes", summary="The QBO company's active tax codes")
    def tax_codes(account_id: str) -> list[TaxCodeOut]:
        return [TaxCodeOut(**c) for c in call(lambda: tax.tax_codes(d.client(account_id)))]

    @r.get("/tax-mappings", summary="Tax category → tax code mappings")
    def tax_mappings(account_id: str) -> dict[str, str]:
        return tax.tax_mappings(d.db, account_id)

    @r.put("/tax-mappings/{tax_category_id}", summary="Map a tax category to a tax code")
    def map_tax(account_id: str, tax_category_id: str, body: TaxMappingIn) -> TaxMappingOut:
        row = call(
            lambda: tax.map_tax_category(
                d.db, d.client(account_id), account_id, tax_category_id, body.tax_code_id
            )
        )
        return TaxMappingOut(**_pick(TaxMappingOut, row))

    @r.delete("/tax-mappings/{tax_category_id}", status_code=204, summary="Unmap a category")
    def unmap_tax(account_id: str, tax_category_id: str) -> None:
        call(lambda: tax.unmap_tax_category(d.db, account_id, tax_category_id))


def _settings_routes(r: APIRouter, d: Deps) -> None:
    @r.get("/settings", summary="The account's settings")
    def get_settings(account_id: str) -> SettingsOut:
        return SettingsOut(**settings_service.get_settings(d.db, account_id).as_dict())

    @r.patch("/settings", summary="Change settings (checked against the QBO company)")
    def patch_settings(account_id: str, body: SettingsIn) -> SettingsOut:
        changed = call(
            lambda: settings_service.update_settings(
                d.db, lambda: d.client(account_id), account_id, body.model_dump(exclude_unset=True)
            )
        )
        return SettingsOut(**changed.as_dict())
