"""The CLI doors of the same services: tables, one-sentence errors, meaningful exit codes."""

from __future__ import annotations

import pytest

from sequence_qbo import cli
from store import links
from tests.integration.customers.support import ACCOUNT, World, qbo_customer, store_customer

pytestmark = pytest.mark.integration


@pytest.fixture
def run(uk: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    s = uk.settings
    env = {
        "DATABASE_URL": s.database_url.get_secret_value(),
        "KAFKA_BOOTSTRAP": s.kafka_bootstrap,
        "QBO_ENVIRONMENT": "emulator",
        "QBO_BASE_URL": s.qbo_base_url,
        "TOKEN_ENCRYPTION_KEY": s.token_encryption_key.get_secret_value(),
    }
    for name, value in {
        **env,
        **{f"TOPIC_{k.upper()}": v for k, v in s.topics.model_dump().items()},
    }.items():
        monkeypatch.setenv(f"SEQUENCE_QBO_{name}", str(value))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables unwrapped, so cells can be matched

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = cli.main([*argv, "--account", ACCOUNT])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_link_create_suggest_and_their_errors(uk: World, run, tmp_path) -> None:
    store_customer(uk.db, "cus_1", "Cli Ltd")
    store_customer(uk.db, "cus_2", "Other Ltd")
    code, out, _ = run("customers", "create", "--customer", "cus_1")
    assert code == 0 and "created in QBO as" in out
    code, _, err = run("customers", "create", "--customer", "cus_1")
    assert code == 5 and err.count("\n") == 1 and "[already_linked]" in err
    existing = qbo_customer(uk.raw, "Other Ltd")
    code, out, _ = run("customers", "suggest", "--customer", "cus_2")
    assert code == 0 and existing["Id"] in out and "display_name" in out
    code, out, _ = run("customers", "link", "--customer", "cus_2", "--qbo-customer", existing["Id"])
    assert code == 0 and links.get(uk.db, ACCOUNT, "cus_2", realm_id=uk.realm_id) is not None
    code, _, err = run("customers", "link", "--customer", "cus_3", "--qbo-customer", "999")
    assert code == 4 and "[qbo_customer_not_found]" in err
    code, out, _ = run("customers", "import", "--report-dir", str(tmp_path))
    assert code == 0 and "0 imported, 2 already linked" in out


def test_accounts_products_tax_and_settings(run) -> None:
    code, out, _ = run("accounts", "list")
    assert code == 0 and "Services" in out and "income account" in out
    code, out, _ = run("tax-codes", "list")
    assert code == 0 and "20.0% RC" in out
    code, out, _ = run("tax", "map", "--category", "cat_std", "--tax-code", "3")
    assert code == 0
    code, _, err = run("tax", "map", "--category", "cat_std", "--tax-code", "99")
    assert code == 2 and "[tax_code_not_found]" in err
    code, out, _ = run("tax", "list")
    assert code == 0 and "cat_std" in out
    code, out, _ = run("products", "fallback", "--income-account", "2")
    assert code == 0 and "fallback item" in out
    code, out, _ = run(
        "products", "map", "--product", "p1", "--name", "Seats", "--income-account", "2"
    )
    assert code == 0 and "new QBO item" in out
    code, _, err = run(
        "products", "map", "--product", "p2", "--name", "Seats", "--income-account", "2"
    )
    assert code == 5 and "[item_name_taken]" in err
    code, out, _ = run("products", "list")
    assert code == 0 and "p1" in out
    code, out, _ = run(
        "settings", "set", "merchant_email=me@merchant.example", "exempt_tax_code_id=2"
    )
    assert code == 0 and "me@merchant.example" in out
    code, _, err = run("settings", "set", "exempt_tax_code_id=77")
    assert code == 2 and "[tax_code_not_found]" in err
    code, out, _ = run("settings", "get")
    assert code == 0 and "exempt_tax_code_id" in out
