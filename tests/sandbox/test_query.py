"""The query endpoint: grammar, filters, ordering, paging, count and the response shape."""

from __future__ import annotations

import pytest


@pytest.fixture
def people(us):
    for name in ("Alpha", "Bravo", "Charlie", "O'Brien", "Delta"):
        us.customer(name, CompanyName=f"{name} Inc")
    return us


def names(block):
    return [c["DisplayName"] for c in block.get("Customer", [])]


def test_select_star_shape(people):
    block = people.query("select * from Customer")
    assert names(block) == ["Alpha", "Bravo", "Charlie", "O'Brien", "Delta"]
    assert block["startPosition"] == 1 and block["maxResults"] == 5


def test_where_equals_in_like_and(people):
    assert names(people.query("SELECT * FROM Customer WHERE DisplayName = 'Bravo'")) == ["Bravo"]
    assert names(
        people.query("select * from Customer where DisplayName in ('Alpha', 'Delta')")
    ) == ["Alpha", "Delta"]
    assert names(people.query("select * from Customer where DisplayName like '%har%'")) == [
        "Charlie"
    ]
    assert names(
        people.query("select * from Customer where CompanyName like 'A%' and DisplayName = 'Alpha'")
    ) == ["Alpha"]
    assert names(people.query("select * from Customer where Id > '3'")) == ["O'Brien", "Delta"]


def test_escaped_quote(people):
    block = people.query(r"select * from Customer where DisplayName = 'O\'Brien'")
    assert names(block) == ["O'Brien"]


def test_orderby_and_paging(people):
    desc = people.query("select * from Customer orderby DisplayName desc")
    assert names(desc)[:2] == ["O'Brien", "Delta"]
    page = people.query("select * from Customer ORDER BY DisplayName STARTPOSITION 2 MAXRESULTS 2")
    assert names(page) == ["Bravo", "Charlie"]
    assert (page["startPosition"], page["maxResults"]) == (2, 2)


def test_count(people):
    assert people.query("select count(*) from Customer") == {"totalCount": 5}


def test_empty_result_is_empty_block(people):
    assert people.query("select * from Customer where DisplayName = 'Nobody'") == {}


def test_post_with_application_text(people):
    resp = people.http.post(
        f"{people.url}/query",
        params={"minorversion": 75},
        data="select * from Customer where DisplayName = 'Alpha'",
        headers={"Content-Type": "application/text"},
    )
    assert names(people.ok(resp, "QueryResponse")) == ["Alpha"]


def test_inactive_hidden_unless_asked(people):
    bravo = people.query("select * from Customer where DisplayName = 'Bravo'")["Customer"][0]
    people.create(
        "Customer", {"Id": bravo["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert "Bravo" not in names(people.query("select * from Customer"))
    both = people.query("select * from Customer where Active in (true, false)")
    assert "Bravo" in names(both)


def test_parse_errors(people):
    for bad in (
        "select * from",
        "select * from Customer where A = 'x' or B = 'y'",
        "delete from Customer",
    ):
        assert people.fault(people.get("query", query=bad))["code"] == "4000"


def test_refs_and_metadata_filters(people):
    c = people.query("select * from Customer where DisplayName = 'Alpha'")["Customer"][0]
    people.invoice(c["Id"], 10, "NON")
    block = people.query(f"select * from Invoice where CustomerRef = '{c['Id']}'")
    assert len(block["Invoice"]) == 1
    stamp = block["Invoice"][0]["MetaData"]["LastUpdatedTime"]
    assert people.query(f"select * from Invoice where MetaData.LastUpdatedTime >= '{stamp}'")
    assert people.query(f"select * from Invoice where MetaData.LastUpdatedTime > '{stamp}'") == {}


def test_maxresults_capped_at_1000(us):
    us.sb.admin("POST", "/realms", {"profile": "US"})
    batch = [
        {"bId": str(i), "operation": "create", "Customer": {"DisplayName": f"C{i}"}}
        for i in range(30)
    ]
    for chunk in range(34):
        items = [
            {**b, "bId": f"{chunk}-{b['bId']}", "Customer": {"DisplayName": f"C{chunk}-{b['bId']}"}}
            for b in batch
        ]
        assert us.post("batch", {"BatchItemRequest": items}).status_code == 200
    block = us.query("select * from Customer maxresults 5000")
    assert block["maxResults"] == 1000 and len(block["Customer"]) == 1000
    assert us.query("select count(*) from Customer") == {"totalCount": 1020}
    assert len(us.query("select * from Customer")["Customer"]) == 100  # default page


def test_select_fields(people):
    block = people.query("select Id, DisplayName from Customer where DisplayName = 'Alpha'")
    assert set(block["Customer"][0]) == {"Id", "DisplayName", "domain", "sparse"}


def test_email_and_phone_compare_by_text(us):
    us.customer(
        "Mail",
        PrimaryEmailAddr={"Address": "ap@mail.example"},
        PrimaryPhone={"FreeFormNumber": "555-0100"},
    )
    assert names(us.query("select * from Customer where PrimaryEmailAddr = 'AP@mail.example'")) == [
        "Mail"
    ]
    assert names(us.query("select * from Customer where PrimaryPhone = '555-0100'")) == ["Mail"]
