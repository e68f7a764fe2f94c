"""`wiring.Application` owns what a process opens and closes all of it, and only that."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from publishing import PublishFailed, Record
from sequence_qbo.settings import Settings
from sequence_qbo.wiring import Application
from store.db import Database, StoreUnavailable

pytestmark = pytest.mark.integration


def test_construction_opens_nothing_and_closing_an_unused_one_is_a_no_op() -> None:
    app = Application(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    app.close()  # nothing was built: no pool to reach, nothing to fail


def test_close_releases_the_pools_and_the_publisher(settings: Settings, db: Database) -> None:
    settings = settings.model_copy(update={"token_encryption_key": Fernet.generate_key().decode()})
    with Application(settings) as app:
        assert app.db.one("quota_now") is not None
        publisher, factory = app.publisher, app.clients
        publisher.publish([Record(settings.topics.dlq, "k", b"v")], timeout=30)
        assert app.services.db is app.db and app.document_sync is app.document_sync
    with pytest.raises(StoreUnavailable):
        app.db.one("quota_now")
    with pytest.raises(PublishFailed, match="closed"):
        publisher.publish([Record(settings.topics.dlq, "k", b"v")], timeout=1)
    with pytest.raises(StoreUnavailable):
        factory.store.get("acct")  # the QBO clients' own pool is closed too


def test_a_given_database_stays_open(settings: Settings, db: Database) -> None:
    with Application(settings, db=db) as app:
        assert app.db is db
    assert db.one("quota_now") is not None
