"""Fixtures of the customer, product, tax and settings tests: one emulator for the module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.testing import SandboxHandle, running_sandbox
from sequence_qbo.settings import Settings
from store.db import Database
from tests.integration.customers.support import World, world


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


@pytest.fixture
def us(settings: Settings, db: Database, sandbox: SandboxHandle) -> World:
    return world(settings, db, sandbox, "US")


@pytest.fixture
def uk(settings: Settings, db: Database, sandbox: SandboxHandle) -> World:
    return world(settings, db, sandbox, "UK")


@pytest.fixture
def multi(settings: Settings, db: Database, sandbox: SandboxHandle) -> World:
    return world(settings, db, sandbox, "MULTI")
