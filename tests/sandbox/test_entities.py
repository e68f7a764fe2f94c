"""Name lists and the write rules: SyncToken, 5010, 6240, 610, required fields."""

from __future__ import annotations


def test_customer_create_read_shape(us):
    created = us.customer("Acme Ltd", PrimaryEmailAddr={"Address": "ap@acme.com"})
    assert created["Id"] == "1" and created["SyncToken"] == "0"
    assert set(created["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert created["CurrencyRef"]["value"] == "USD"
    read = us.read("Customer", created["Id"])
    assert read == created


def test_every_write_increments_sync_token(us):
    c = us.customer()
    one = us.create(
        "Customer", {"Id": c["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "Acme"}
    )
    two = us.create(
        "Customer", {"Id": c["Id"], "SyncToken": one["SyncToken"], "sparse": True, "Notes": "x"}
    )
    assert (one["SyncToken"], two["SyncToken"]) == ("1", "2")
    assert two["CompanyName"] == "Acme"  # sparse update kept the earlier field


def test_stale_sync_token_is_5010(us):
    c = us.customer()
    us.create("Customer", {"Id": c["Id"], "SyncToken": "0", "sparse": True, "Notes": "a"})
    err = us.fault(
        us.post("customer", {"Id": c["Id"], "SyncToken": "0", "sparse": True, "Notes": "b"})
    )
    assert err["code"] == "5010" and err["Message"] == "Stale Object Error"
    assert us.read("Customer", c["Id"])["Notes"] == "a"


def test_full_update_clears_omitted_fields(us):
    c = us.customer("Acme", Notes="keep?")
    updated = us.create("Customer", {"Id": c["Id"], "SyncToken": "0", "DisplayName": "Acme"})
    assert "Notes" not in updated


def test_duplicate_display_name_is_6240_case_insensitive(us):
    us.customer("Acme Ltd")
    err = us.fault(us.post("customer", {"DisplayName": "ACME LTD"}))
    assert err["code"] == "6240" and err["Message"] == "Duplicate Name Exists Error"
    assert "Another customer is already using this name" in err["Detail"]


def test_display_name_derived_and_required(us):
    derived = us.create("Customer", {"GivenName": "Ada", "FamilyName": "Lovelace"})
    assert derived["DisplayName"] == "Ada Lovelace"
    err = us.fault(us.post("customer", {"Notes": "nameless"}))
    assert err["code"] == "2020"


def test_item_names_unique_and_income_account_required(us):
    body = {"Name": "Pro plan", "Type": "Service", "IncomeAccountRef": {"value": "1"}}
    item = us.create("Item", body)
    assert item["IncomeAccountRef"] == {"value": "1", "name": "Sales of Product Income"}
    assert us.fault(us.post("item", body))["code"] == "6240"
    missing = us.fault(us.post("item", {"Name": "Other", "Type": "Service"}))
    assert missing["code"] == "2020" and missing["element"] == "IncomeAccountRef"
    unknown = us.post(
        "item", {"Name": "Other", "Type": "Service", "IncomeAccountRef": {"value": "999"}}
    )
    assert us.fault(unknown)["code"] == "610"


def test_inactive_item_on_invoice_is_610(us):
    item = us.create("Item", {"Name": "Old", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    us.create("Item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    c = us.customer()
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 5,
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    err = us.fault(us.post("invoice", {"CustomerRef": {"value": c["Id"]}, "Line": [line]}))
    assert err["code"] == "610" and err["element"] == "ItemRef"


def test_unknown_customer_ref_is_610(us):
    err = us.fault(us.post("invoice", {"CustomerRef": {"value": "404"}, "Line": []}))
    assert err["code"] == "610"


def test_read_unknown_id_is_610(us):
    assert us.fault(us.get("customer/999"))["code"] == "610"


def test_account_create_and_duplicate(us):
    acct = us.create("Account", {"Name": "Subscriptions", "AccountType": "Income"})
    assert acct["Classification"] == "Revenue"
    assert (
        us.fault(us.post("account", {"Name": "subscriptions", "AccountType": "Income"}))["code"]
        == "6240"
    )


def test_name_lists_cannot_be_deleted(us):
    c = us.customer()
    resp = us.post("customer", {"Id": c["Id"], "SyncToken": "0"}, operation="delete")
    assert us.fault(resp)["code"] == "500"


def test_taxcode_is_read_only_but_taxservice_creates(uk):
    assert uk.fault(uk.post("taxcode", {"Name": "X"}))["code"] == "500"
    resp = uk.post(
        "taxservice/taxcode",
        {
            "TaxCode": "Mine",
            "TaxRateDetails": [
                {
                    "TaxRateName": "Mine 5",
                    "RateValue": "5",
                    "TaxAgencyId": "1",
                    "TaxApplicableOn": "Sales",
                }
            ],
        },
    )
    assert resp.status_code == 200, resp.text
    code_id = resp.json()["TaxCodeId"]
    code = uk.read("TaxCode", code_id)
    rate_id = code["SalesTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["value"]
    assert uk.read("TaxRate", rate_id)["RateValue"] == 5
    dup = uk.post("taxservice/taxcode", {"TaxCode": "Mine", "TaxRateDetails": []})
    assert uk.fault(dup)["code"] == "6240"


def test_preferences_and_company_info(us, uk):
    prefs = us.ok(us.get("preferences"), "Preferences")
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    assert prefs["TaxPrefs"]["TaxGroupCodeRef"]["value"] == "2"
    assert prefs["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"
    info = uk.ok(uk.get(f"companyinfo/{uk.realm_id}"), "CompanyInfo")
    assert info["Country"] == "GB" and info["CompanyAddr"]["Country"] == "GBR"
    updated = us.create(
        "Preferences",
        {
            "SyncToken": prefs["SyncToken"],
            "sparse": True,
            "SalesFormsPrefs": {"CustomTxnNumbers": False},
        },
    )
    assert updated["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    assert updated["SalesFormsPrefs"]["AllowDiscount"] is True


def test_minorversion_any_value_accepted(us):
    for version in ("3", "75", "999"):
        assert (
            us.http.get(f"{us.url}/companyinfo/1", params={"minorversion": version}).status_code
            == 200
        )


def test_bad_numbers_and_dates_are_400_not_500(us):
    c = us.customer()
    bad_amount = us.post("payment", {"CustomerRef": {"value": c["Id"]}, "TotalAmt": "lots"})
    assert us.fault(bad_amount)["code"] == "2010"
    bad_date = us.post(
        "invoice",
        {
            "CustomerRef": {"value": c["Id"]},
            "TxnDate": "someday",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 1,
                    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
                }
            ],
        },
    )
    assert us.fault(bad_date)["code"] == "2010"


def test_malformed_json_is_a_fault(us):
    resp = us.http.post(
        f"{us.url}/customer", data="{nope", headers={"Content-Type": "application/json"}
    )
    assert us.fault(resp)["code"] == "2010"


def test_renaming_frees_the_old_name(us):
    c = us.customer("Old Name")
    us.create(
        "Customer", {"Id": c["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "New Name"}
    )
    assert us.customer("Old Name")["DisplayName"] == "Old Name"
    assert us.fault(us.post("customer", {"DisplayName": "new name"}))["code"] == "6240"
    # Renaming to its own name (different case) is not a clash with itself.
    same = us.create(
        "Customer", {"Id": c["Id"], "SyncToken": "1", "sparse": True, "DisplayName": "NEW NAME"}
    )
    assert same["DisplayName"] == "NEW NAME"


def test_addresses_get_ids_that_updates_keep(us):
    c = us.customer("Acme", BillAddr={"Line1": "1 Main St"}, ShipAddr={"Line1": "2 Dock St"})
    bill, ship = c["BillAddr"]["Id"], c["ShipAddr"]["Id"]
    assert bill.isdigit() and ship.isdigit() and bill != ship
    # Resent without its Id (as python-quickbooks and our own client do), it is the same address.
    moved = us.create(
        "Customer",
        {"Id": c["Id"], "SyncToken": "0", "sparse": True, "BillAddr": {"Line1": "9 New St"}},
    )
    assert moved["BillAddr"] == {"Line1": "9 New St", "Id": bill}
    assert moved["ShipAddr"]["Id"] == ship
    # An invoice without addresses shows the customer's, Ids included; one sent gets its own.
    inv = us.invoice(c["Id"], 10, "NON")
    assert (inv["BillAddr"], inv["ShipAddr"]) == (moved["BillAddr"], moved["ShipAddr"])
    own = us.invoice(c["Id"], 10, "NON", BillAddr={"Line1": "PO Box 7"})
    assert own["BillAddr"]["Id"] not in (bill, ship) and own["ShipAddr"]["Id"] == ship
    info = us.ok(us.get(f"companyinfo/{us.realm_id}"), "CompanyInfo")
    ids = {info[k]["Id"] for k in ("CompanyAddr", "LegalAddr", "CustomerCommunicationAddr")}
    assert len(ids) == 1 and ids.pop().isdigit()
