"""The batch quota (40 /batch requests a minute per realm, on top of the request quota) is held
by the client through PostgreSQL: past it, a batch waits or is refused by our own quota, and
never reaches QBO to be answered 429."""

from __future__ import annotations

import pytest

from qbo import errors
from qbo.quota import Limits
from sequence_qbo import wiring
from sequence_qbo.qbo_store import client_factory
from sequence_qbo.settings import Settings
from tests.integration.monthend.world import connect_accounts, realm_of

pytestmark = pytest.mark.integration


def test_batches_past_the_realms_batch_quota_are_held_back(settings: Settings, qbo_sandbox) -> None:
    connected, [account] = connect_accounts(settings, qbo_sandbox, 1)
    db = wiring.database(connected).open()
    # 1 batch a minute (QBO: 40, spaced one per 61/40 s): the next one would wait a minute,
    # past the 30 s a batch waits for its grant at most, so the test needs no minute.
    limits = Limits(per_second=100, per_minute=1000, batch_per_minute=1)
    factory = client_factory(connected, db, limits=limits)
    try:
        client = factory(account)
        query = [{"bId": "1", "Query": "select * from CompanyInfo"}]
        assert "1" in client.batch(query, request_id="sq-batch-0")
        with pytest.raises(errors.Throttled) as held:
            client.batch(query, request_id="sq-batch-1")
        assert 55.0 < (held.value.retry_after or 0) <= 61.0, held.value.retry_after
        client.company_info()  # the request quota is not the batch quota: this one goes
        realm = realm_of(db, account)
    finally:
        factory.close()
        db.close()
    log = qbo_sandbox.requests(realm=realm)
    assert sum(1 for e in log if e["entity"].lower() == "batch") == 1
    assert all(e["status"] != 429 for e in log)
