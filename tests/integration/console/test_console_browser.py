"""The operator console in a real headless Chromium (Debian's `chromium`, driven by Playwright),
over real HTTP (uvicorn), PostgreSQL, Kafka and the QBO emulator: sign in, see a failed invoice
(item_not_mapped), map the product from the page, resync, see it synced; every page's
screenshot is saved under the test's tmp_path (`console-*.png`)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consumers.runtime import dlq, kafka
from schemas.models import Customer, Invoice
from sequence_qbo import samples
from store import customers
from store.db import Database
from sync import connect as flow
from sync import products
from tests.helpers import wait_until
from tests.integration.api.server import serving_admin
from tests.integration.harness import from_the_start
from tests.integration.invoices.world import UK_CUSTOMER, World, make_world, one_line_invoice

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
TOKEN = "console-admin-token-for-tests"
SCRIPT = "<script>alert('x')</script>"
EVIL = samples.customer(
    "cus_evil", f"{SCRIPT} Ltd", "ap@evil.example", "2 High St", "York", "YO1 1AA", "GB", "TAXED"
)

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def _invoice(iid: str, customer: dict[str, Any], product_id: str | None, title: str) -> Invoice:
    body = one_line_invoice(iid, customer, number=f"N-{iid}", title=title, product_id=product_id)
    return Invoice.model_validate(body)


@pytest.fixture
def world(db: Database, settings: Any, qbo_sandbox: Any, schema_registry_url: str) -> World:
    """inv_ok synced; inv_unmapped failed item_not_mapped (product prod_pro has no item and
    there is no fallback item); inv_evil failed customer_not_linked (named `<script>…`)."""
    w = make_world(db, settings, qbo_sandbox, schema_registry_url, "UK")
    w.link(UK_CUSTOMER)
    w.settings(fallback_tax_code_id="3")
    sync = w.sync_service()
    now = dt.datetime.now(dt.UTC)
    # The evil customer as customer.updated stored it (it is not linked to QBO).
    customers.save_snapshot(
        w.db,
        account_id=w.c.account_id,
        customer_id="cus_evil",
        snapshot=Customer.model_validate(EVIL).model_dump(mode="json"),
        event_id=uuid.uuid4(),
        occurred_at=now,
    )
    # An item for inv_ok's product, so that one syncs.
    products.link_product(w.db, w.client, w.c.account_id, "prod_basic", w.item_id())
    ok = sync.sync(w.c.account_id, _invoice("inv_ok", UK_CUSTOMER, "prod_basic", "Basic"), now)
    assert ok.outcome == "created", ok
    pro = f"Pro plan {SCRIPT}"
    unmapped = sync.sync(
        w.c.account_id, _invoice("inv_unmapped", UK_CUSTOMER, "prod_pro", pro), now
    )
    assert unmapped.reason_code == "item_not_mapped", unmapped
    evil = sync.sync(w.c.account_id, _invoice("inv_evil", EVIL, "prod_basic", "Basic"), now)
    assert evil.reason_code == "customer_not_linked", evil
    return w


def _dead_letter(w: World) -> None:
    """One record in the DLQ, dead-lettered from the invoice.finalized topic."""
    t = w.c.settings.topics
    producer = kafka.producer(w.c.settings.kafka_bootstrap)
    headers = [
        (dlq.HEADER_SOURCE_TOPIC, t.invoice_finalized.encode()),
        (dlq.HEADER_SOURCE_PARTITION, b"0"),
        (dlq.HEADER_SOURCE_OFFSET, b"41"),
        (dlq.HEADER_ERROR_CLASS, b"UndecodableRecord"),
        (dlq.HEADER_REASON, f"not Avro: {SCRIPT}".encode()),
        (dlq.HEADER_ATTEMPTS, b"1"),
        (dlq.HEADER_FIRST_FAILURE, b"2026-11-30T07:00:00+00:00"),
    ]
    producer.produce(t.dlq, key=b"inv_broken", value=b"\x00garbage", headers=headers)
    assert producer.flush(30) == 0


def _source_records(w: World) -> list[Any]:
    """What the invoice.finalized topic holds now (read from the beginning)."""
    topic = w.c.settings.topics.invoice_finalized
    found: list[Any] = []
    with from_the_start(w.c.settings.kafka_bootstrap, topic) as consumer:
        for _ in range(20):
            found += [m for m in consumer.consume(100, timeout=0.5) if not m.error()]
            if found:
                break
    return found


@pytest.fixture
def base(world: World, tmp_path: Path) -> Iterator[str]:
    _dead_letter(world)
    with serving_admin(
        world,
        TOKEN,
        tmp_path,
        qbo_environment="emulator",
        qbo_base_url=world.c.settings.qbo_base_url,
        begin_connect=lambda account: (
            flow.begin(world.db, world.factory, account, new_company=False).url
        ),
    ) as url:
        yield url


@pytest.fixture
def page(base: str, tmp_path: Path) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900})
        tab = context.new_page()
        alerts: list[str] = []
        tab.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
        tab.set_default_timeout(30_000)
        yield tab
        assert alerts == [], f"a value ran as script: {alerts}"
        browser.close()
    keep = os.environ.get("CONSOLE_SCREENSHOTS")  # a folder to copy them to, for people
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("console-*.png"):
            shutil.copy(shot, keep)


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"console-{name}.png"), full_page=True)


def _no_script(page: Any) -> None:
    """Merchant-typed `<script>` is shown as text, never as an element."""
    assert page.locator("script").count() == 0
    assert SCRIPT not in page.content()


def _row(page: Any, text: str) -> Any:
    return page.locator("tr", has_text=text)


def test_sign_in_fix_a_failed_invoice_and_see_it_synced(
    page: Any, base: str, world: World, tmp_path: Path
) -> None:
    account = world.c.account_id
    # Signed out: every page leads to the sign-in form.
    page.goto("/console")
    assert page.url.endswith("/console/login")
    page.fill("input[name=token]", "wrong-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash.error", has_text="not the admin token")).to_be_visible()
    _shot(page, tmp_path, "01-sign-in")
    page.fill("input[name=token]", TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "sqbo_console"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Strict", False)

    # Accounts: connection health and counts by state.
    _shot(page, tmp_path, "02-accounts")
    row = _row(page, account)
    assert "active" in row.inner_text() and "failed 2" in row.inner_text()
    assert "synced 1" in row.inner_text()
    _shot(page, tmp_path, "02-accounts")

    # The account: the failed invoice, its reason, QBO's message and the fix.
    page.click(f"text={account}")
    _no_script(page)
    unmapped = _row(page, "inv_unmapped")
    assert "item_not_mapped" in unmapped.inner_text()
    assert "prod_pro" in unmapped.inner_text()
    assert "customer_not_linked" in _row(page, "inv_evil").inner_text()
    assert f"{SCRIPT} Ltd" not in page.content()
    _shot(page, tmp_path, "03-account-failed")

    # Map the product from the page (a new QBO item), then resync the invoice.
    unmapped.locator("input[name=name]").fill("Pro plan")
    unmapped.locator("button", has_text="Map product").click()
    expect(page.locator(".flash.ok", has_text="Product prod_pro mapped")).to_be_visible()
    _row(page, "inv_unmapped").locator("button", has_text="Resync").click()
    expect(page.locator(".flash.ok", has_text="inv_unmapped: created")).to_be_visible()
    assert _row(page, "inv_unmapped").count() == 1  # now among the recent syncs only
    synced = _row(page, "inv_unmapped")
    assert "synced" in synced.inner_text()
    qbo_link = synced.locator("a", has_text="QBO ")
    assert "/_sandbox/realms/" in (qbo_link.get_attribute("href") or "")
    _shot(page, tmp_path, "04-account-synced")
    [item] = [i for i in world.qbo("Item") if i["Name"] == "Pro plan"]
    [invoice] = [i for i in world.qbo_invoices() if i.get("DocNumber") == "N-inv_unmapped"]
    refs = [
        ln["SalesItemLineDetail"]["ItemRef"]["value"]
        for ln in invoice["Line"]
        if ln.get("SalesItemLineDetail")
    ]
    assert refs == [item["Id"]]

    # A form POST without the CSRF token is refused, even with the session cookie.
    refused = page.request.post(
        f"{base}/console/accounts/{account}/resync-failed", form={"csrf": "forged"}
    )
    assert refused.status == 403

    # Mappings: the new product mapping, the unlinked customer (escaped).
    page.click("header >> text=Mappings")
    assert "prod_pro" in _row(page, "Pro plan").inner_text()
    _no_script(page)
    assert page.locator("tr", has_text="cus_evil").count() == 1
    _shot(page, tmp_path, "05-mappings")

    # A customer: QBO's suggestions, link or create.
    page.click("text=cus_evil >> nth=0")
    expect(page.locator("h1", has_text="Customer cus_evil")).to_be_visible()
    _no_script(page)
    _shot(page, tmp_path, "06-customer")
    page.get_by_role("button", name="Create in QBO").click()
    expect(page.locator(".flash.ok", has_text="created for cus_evil")).to_be_visible()
    [made] = [
        c
        for c in world.qbo("Customer")
        if c["DisplayName"].endswith(" Ltd") and "script" in c["DisplayName"]
    ]
    assert made["DisplayName"] == f"{SCRIPT} Ltd"  # stored as typed; only its display escapes

    # Payments (none read back yet in this world).
    page.click("header >> text=Payments")
    expect(page.locator("h2", has_text="What QBO reported")).to_be_visible()
    _shot(page, tmp_path, "07-payments")

    # Resync everything failed, as a job.
    page.click(f"header >> text=Account {account}")
    page.get_by_role("button", name="Resync all 1 failed").click()
    page.wait_for_url("**/console/jobs/*")
    wait_until(
        lambda: page.reload() and "succeeded" in page.locator("table").inner_text(),
        timeout=60,
        message="the resync job to succeed",
    )
    report = page.locator("pre").inner_text()
    assert '"sequence_id": "inv_evil"' in report and '"outcome": "created"' in report
    _shot(page, tmp_path, "08-job")

    # Dead letters: reason headers shown escaped, replay the one selected.
    page.click("header >> text=Dead letters")
    _no_script(page)
    letter = _row(page, "inv_broken")
    assert "UndecodableRecord" in letter.inner_text() and "not Avro" in letter.inner_text()
    _shot(page, tmp_path, "09-dlq")
    letter.locator("input[type=checkbox]").check()
    page.get_by_role("button", name="Replay selected").click()
    expect(page.locator(".flash.ok", has_text="Re-injected 1 record(s)")).to_be_visible()
    [again] = _source_records(world)
    assert (again.key(), again.value()) == (b"inv_broken", b"\x00garbage")

    # Reconnect: the button's POST sends the browser to Intuit's (the emulator's) consent page,
    # with a state bound to the account.
    page.click("header >> text=Accounts")
    button = _row(page, account).get_by_role("button", name="Reconnect")
    csrf = _row(page, account).locator("input[name=csrf]").first.get_attribute("value")
    sent = page.request.post(
        f"{base}/console/accounts/{account}/connect", form={"csrf": csrf}, max_redirects=0
    )
    assert sent.status == 303
    authorize = sent.headers["location"]
    assert authorize.startswith(world.c.settings.qbo_base_url or "-") and "state=" in authorize
    assert button.is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/login")
    page.goto("/console")
    assert page.url.endswith("/console/login")
