"""One emulator per test session over real HTTP; every test gets its own realm."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from tests.sandbox.support import ROOMY, Qbo


@pytest.fixture(scope="session")
def sb() -> Iterator[SandboxHandle]:
    with running_sandbox(SandboxConfig(quotas=ROOMY, seed=7)) as handle:
        yield handle


@pytest.fixture
def make_qbo(sb: SandboxHandle) -> Iterator[Callable[..., Qbo]]:
    made: list[str] = []

    def make(profile: str = "US", **options: Any) -> Qbo:
        realm_id = sb.create_realm(profile, **options)
        made.append(realm_id)
        return Qbo(sb, realm_id)

    yield make
    sb.clear_faults()


@pytest.fixture
def us(make_qbo: Callable[..., Qbo]) -> Qbo:
    return make_qbo("US")


@pytest.fixture
def uk(make_qbo: Callable[..., Qbo]) -> Qbo:
    return make_qbo("UK")


@pytest.fixture
def multi(make_qbo: Callable[..., Qbo]) -> Qbo:
    return make_qbo("MULTI")
