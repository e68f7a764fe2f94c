"""Fixtures of the reconciliation tests: one account connected to a fresh UK emulator realm."""

from __future__ import annotations

import pytest

from store.db import Database
from tests.integration.conftest import connect
from tests.integration.reconcile.world import Reconciling


@pytest.fixture
def world(db: Database, settings, qbo_sandbox, schema_registry_url) -> Reconciling:
    return Reconciling(connect(db, settings, qbo_sandbox, "UK"), db, schema_registry_url)
