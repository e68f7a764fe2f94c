"""python-quickbooks, unmodified, pointed at the emulator: the proof that it is faithful."""

from __future__ import annotations

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.base import Address, Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine

REDIRECT = "https://app.example.com/callback"


@pytest.fixture
def qb(sb, monkeypatch):
    # oauthlib refuses plain http unless told; the emulator listens on loopback without TLS.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    realm_id = sb.create_realm("US")
    auth = AuthClient("app-id", "app-secret", REDIRECT, sb.discovery_url)
    url = auth.get_authorization_url([Scopes.ACCOUNTING]) + f"&realmId={realm_id}"
    location = requests.get(url, allow_redirects=False).headers["location"]
    code = location.split("code=")[1].split("&")[0]
    auth.get_bearer_token(code, realm_id=realm_id)
    client = QuickBooks(
        auth_client=auth, refresh_token=auth.refresh_token, company_id=realm_id, minorversion=75
    )
    client.api_url_v3 = sb.base_url + "/v3"  # the only change: where QBO lives
    return client


def make_item(qb):
    account = Ref()
    account.value, account.name = "2", "Services"
    item = Item()
    item.Name, item.Type, item.IncomeAccountRef, item.UnitPrice = (
        "Pro plan",
        "Service",
        account,
        100,
    )
    return item.save(qb=qb)


def invoice_for(qb, customer, item, amount=100):
    line = SalesItemLine()
    line.Amount, line.Description = amount, "Pro plan November"
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = item.to_ref()
    invoice = Invoice()
    invoice.CustomerRef, invoice.Line = customer.to_ref(), [line]
    return invoice.save(qb=qb)


def test_customer_item_invoice_update_and_payment(qb):
    customer = Customer()
    customer.DisplayName = "Acme Ltd"
    customer = customer.save(qb=qb)
    item = make_item(qb)
    invoice = invoice_for(qb, customer, item)
    assert float(invoice.TotalAmt) == 100.0 and invoice.SyncToken == "0"

    invoice.PrivateNote = "billing-platform:inv_123"
    invoice = invoice.save(qb=qb)
    assert invoice.SyncToken == "1"
    fetched = Invoice.get(invoice.Id, qb=qb)
    assert fetched.PrivateNote == "billing-platform:inv_123"

    line = PaymentLine()
    line.Amount = 100
    line.LinkedTxn.append(fetched.to_linked_txn())
    payment = Payment()
    payment.CustomerRef, payment.TotalAmt, payment.Line = customer.to_ref(), 100, [line]
    payment.save(qb=qb)
    assert float(Invoice.get(invoice.Id, qb=qb).Balance) == 0


def test_stale_sync_token_raises(qb):
    customer = Customer()
    customer.DisplayName = "Stale Co"
    customer = customer.save(qb=qb)
    stale = Customer.get(customer.Id, qb=qb)
    customer.CompanyName = "First"
    customer.save(qb=qb)
    stale.CompanyName = "Second"
    with pytest.raises(QuickbooksException) as err:
        stale.save(qb=qb)
    assert err.value.error_code == 5010


def test_paging_and_count(qb):
    for n in range(7):
        customer = Customer()
        customer.DisplayName = f"Paged {n}"
        customer.save(qb=qb)
    first = Customer.filter(start_position=1, max_results=5, order_by="DisplayName", qb=qb)
    rest = Customer.filter(start_position=6, max_results=5, order_by="DisplayName", qb=qb)
    assert [c.DisplayName for c in first + rest] == [f"Paged {n}" for n in range(7)]
    assert Customer.count(qb=qb) == 7
    assert [c.DisplayName for c in Customer.where("DisplayName LIKE 'Paged 3%'", qb=qb)] == [
        "Paged 3"
    ]
    assert [i.Name for i in Item.all(qb=qb)] == ["Services"]


def test_duplicate_name_raises(qb):
    for _ in range(2):
        customer = Customer()
        customer.DisplayName = "Twice"
        if _:
            with pytest.raises(QuickbooksException) as err:
                customer.save(qb=qb)
            assert err.value.error_code == 6240
        else:
            customer.save(qb=qb)


def test_void_and_send(qb):
    customer = Customer()
    customer.DisplayName = "Void Co"
    customer = customer.save(qb=qb)
    invoice = invoice_for(qb, customer, make_item(qb), 50)
    invoice.send(qb=qb, send_to="ap@void.example")
    sent = Invoice.get(invoice.Id, qb=qb)
    assert sent.EmailStatus == "EmailSent"
    sent.void(qb=qb)
    assert float(Invoice.get(invoice.Id, qb=qb).TotalAmt) == 0


def test_defaults_qbo_fills_in_reach_the_client(qb):
    """Three defaults QBO fills in (address Ids, an item's PurchaseCost and Taxable, a line's
    TaxCodeRef), read through python-quickbooks: each is on every recorded object
    (tests/sandbox/fixtures/ names the sources)."""
    customer = Customer()
    customer.DisplayName = "Harbor Bakery"
    customer.BillAddr, customer.ShipAddr = Address(), Address()
    customer.BillAddr.Line1, customer.ShipAddr.Line1 = "12 Pier Rd", "40 Dock St"
    customer = Customer.get(customer.save(qb=qb).Id, qb=qb)
    assert customer.BillAddr.Id and customer.ShipAddr.Id
    assert customer.BillAddr.Id != customer.ShipAddr.Id

    plain = Item.get(make_item(qb).Id, qb=qb)  # no PurchaseCost, no Taxable sent
    assert plain.PurchaseCost == 0 and plain.Taxable is False
    taxable = Item()
    taxable.Name, taxable.Type, taxable.Taxable = "Rock Fountain", "Service", True
    taxable.IncomeAccountRef = plain.IncomeAccountRef
    taxable = taxable.save(qb=qb)

    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    for item in (taxable, plain):
        line = SalesItemLine()
        line.Amount = 100
        line.SalesItemLineDetail = SalesItemLineDetail()
        line.SalesItemLineDetail.ItemRef = item.to_ref()  # and no TaxCodeRef
        invoice.Line.append(line)
    fetched = Invoice.get(invoice.save(qb=qb).Id, qb=qb)
    codes = [ln.SalesItemLineDetail.TaxCodeRef.value for ln in fetched.Line[:2]]
    assert codes == ["TAX", "NON"]
    assert fetched.Line[-1].DetailType == "SubTotalLineDetail"
    assert fetched.BillAddr.Id == customer.BillAddr.Id
