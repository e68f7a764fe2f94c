"""Query paging across 2,500 customers (QBO: at most 1000 per page, STARTPOSITION 1-based)."""

from __future__ import annotations

import pytest

from qbo import requestids
from qbo.query import Query

from .conftest import Connected

pytestmark = pytest.mark.integration

TOTAL = 2500


def test_paging_across_2500_customers(us: Connected, sb) -> None:
    before = us.client.count(Query("Customer"))
    for start in range(0, TOTAL, 30):  # batches of 30, QBO's recommended maximum
        items = [
            {
                "bId": str(i),
                "operation": "create",
                "Customer": {"DisplayName": f'Paged {i:05d} O\'Hara "&"'},
            }
            for i in range(start, min(start + 30, TOTAL))
        ]
        out = us.client.batch(items, request_id=requestids.make("page", str(start)))
        assert all(isinstance(v, dict) for v in out.values())
    assert us.client.count(Query("Customer")) == before + TOTAL

    seq = sb.requests(realm=us.realm_id)[-1]["seq"]
    everyone = list(us.client.query(Query("Customer")))
    assert len(everyone) == before + TOTAL
    assert len({c["Id"] for c in everyone}) == len(everyone)  # no duplicates across pages
    pages = [r for r in sb.requests(realm=us.realm_id) if r["seq"] > seq]
    assert len(pages) == (len(everyone) // 1000) + 1  # 3 pages; the last one short

    small = list(
        us.client.query(Query("Customer").where("DisplayName", "LIKE", "Paged 001%"), page_size=7)
    )
    assert sorted(c["DisplayName"] for c in small) == [
        f'Paged {i:05d} O\'Hara "&"' for i in range(100, 200)
    ]
