"""Driving `sequence-qbo connect` against the emulator from a test, choosing the company, and
seeding a QBO company whose object Ids collide with another's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from qbo.client import QboClient
from qbo.tokens import StaticToken
from qbo.transport import Transport
from sandbox.testing import SandboxHandle, free_port
from sequence_qbo import cli
from sequence_qbo.settings import Settings
from tests.helpers import browser_get


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


def cli_environment(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The SEQUENCE_QBO_* variables `connect` reads, from a test world's settings."""
    assert settings.token_encryption_key is not None and settings.qbo_base_url
    values = {
        "DATABASE_URL": settings.database_url.get_secret_value(),
        "QBO_ENVIRONMENT": "emulator",
        "QBO_BASE_URL": settings.qbo_base_url,
        "QBO_CLIENT_ID": "test-client",
        "QBO_CLIENT_SECRET": "test-secret",
        "QBO_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback",
        "TOKEN_ENCRYPTION_KEY": settings.token_encryption_key.get_secret_value(),
    }
    for name, value in values.items():
        monkeypatch.setenv(f"SEQUENCE_QBO_{name}", value)


def connect(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    account_id: str,
    realm_id: str,
    *flags: str,
) -> CliResult:
    """`sequence-qbo connect --account A --paste [flags]`, the operator picking `realm_id` on
    the emulator's consent screen and pasting the address the browser lands on."""
    capsys.readouterr()  # what came before is not this command's

    def operator(prompt: str = "") -> str:
        printed = capsys.readouterr().out
        url = next(word for word in printed.split() if "/connect/oauth2?" in word)
        status, landed = browser_get(f"{url}&realmId={realm_id}")
        assert status == 302, status
        return landed

    monkeypatch.setattr("builtins.input", operator)
    code = cli.main(["connect", "--account", account_id, "--paste", *flags])
    out = capsys.readouterr()
    return CliResult(code, out.out, out.err)


def cli_main(argv: list[str]) -> int:
    return cli.main(argv)


def seed_company(
    sandbox: SandboxHandle, realm_id: str, customers: int, invoices: int, credit_memos: int
) -> dict[str, dict[str, dict[str, Any]]]:
    """Objects another app made in the company before the account moved there; entity → Id →
    the object as QBO holds it. The emulator numbers each entity from 1 in every company, so
    their Ids are the Ids the same counts have in any other company."""
    client = QboClient(
        realm_id,
        base_url=sandbox.base_url,
        transport=Transport(),
        tokens=StaticToken(sandbox.token(realm_id)["access_token"]),
    )
    item = next(i["Id"] for i in sandbox.objects(realm_id, "Item")["objects"])
    made = [
        client.create("Customer", {"DisplayName": f"Seeded {n}"}, request_id=f"seed-c{n}")
        for n in range(customers)
    ]

    def document(n: int, prefix: str) -> dict[str, Any]:
        line = {"ItemRef": {"value": item}, "TaxCodeRef": {"value": "3"}}
        return {
            "CustomerRef": {"value": made[n % customers]["Id"]},
            "DocNumber": f"{prefix}-{n}",
            "Line": [
                {"Amount": 10 + n, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": line}
            ],
        }

    for n in range(invoices):
        client.create("Invoice", document(n, "SEED"), request_id=f"seed-i{n}")
    for n in range(credit_memos):
        client.create("CreditMemo", document(n, "SEEDC"), request_id=f"seed-m{n}")
    return objects(sandbox, realm_id)


def objects(sandbox: SandboxHandle, realm_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        entity: {str(o["Id"]): o for o in sandbox.objects(realm_id, entity)["objects"]}
        for entity in ("Customer", "Invoice", "CreditMemo")
    }
