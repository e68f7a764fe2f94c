"""A QBO outage is waited out: 200 invoices over 10 realms, `sequence-qbo run` as a real
subprocess (its defaults) on the real Kafka and PostgreSQL, and the emulator answering every
request with a 503 (then, separately, a 429 with `Retry-After: 60`) for three minutes.

Half the invoices sync before the outage; the other half, with new customers to auto-create,
arrive during it. Afterwards every invoice is in QBO exactly once (QBO's invoices counted by
DocNumber with duplicate DocNumbers allowed, and QBO's create requests counted in the emulator's
request log), nothing is dead-lettered, and `sequence-qbo status --json`, polled during the
outage, said documents were `retrying`; after it, nothing is.

Long (about four to five minutes each): marked `slow` so `-m "not slow"` leaves them out
locally; `make test` runs them. `RAINY_OUTAGE_SECONDS` shortens the outage when debugging.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import SandboxHandle, running_sandbox
from schemas.serde import make_serde
from store.db import Database
from tests.helpers import wait_until
from tests.integration.conftest import ROOMY
from tests.integration.rainy.fleet import (
    Fleet,
    Service,
    connect_fleet,
    plan,
    records_on,
    retrying_reasons,
    service_env,
    shows_retrying,
    status_json,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

OUTAGE_SECONDS = float(os.environ.get("RAINY_OUTAGE_SECONDS", "180"))
REALMS, PER_ACCOUNT = 10, 20  # 200 invoices
# After the outage the runtime's next attempt may be one capped backoff away (about 5 min at
# most, the taxonomy's cap; a 429 asks for 60 s). Waiting longer than the cap proves nothing.
RECOVERY_SECONDS = 330
STATUS_EVERY = 10.0


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    """An emulator of this test's own: the outage must not reach other tests' realms."""
    with running_sandbox(SandboxConfig(quotas=ROOMY, request_log_size=1_000_000)) as sb:
        yield sb


OUTAGES: dict[str, dict[str, Any]] = {
    "503": {"kind": "error", "status": 503},
    "429-retry-after-60": {"kind": "throttle", "retry_after": 60},
}


@pytest.mark.parametrize("fault", list(OUTAGES))
def test_a_qbo_outage_is_waited_out_and_nothing_is_lost_duplicated_or_dead_lettered(
    fault: str, db: Database, settings: Any, sandbox: SandboxHandle, tmp_path: Any
) -> None:
    fleet = connect_fleet(db, settings, sandbox, REALMS)
    serde = make_serde(None)
    env = service_env(fleet)
    service = Service(env, tmp_path)
    half = REALMS * PER_ACCOUNT // 2
    service.start()
    try:
        fleet.produce(serde, plan(fleet, PER_ACCOUNT // 2, 0, customers=2))
        _wait_in_qbo(fleet, service, half, timeout=180, what="the invoices before the outage")

        installed = sandbox.outage(OUTAGE_SECONDS, **OUTAGES[fault])
        until = installed["rules"][-1]["until"]
        # The second half arrives during the outage, with two new customers per account.
        fleet.produce(serde, plan(fleet, PER_ACCOUNT // 2, PER_ACCOUNT // 2, customers=4))
        polls = _poll_status(env, service, until)
        during = fleet.in_qbo()

        wait_until(
            lambda: (service.supervise(), fleet.in_qbo() == _synced(db) == 2 * half)[1],
            timeout=RECOVERY_SECONDS,
            interval=1.0,
            message="every invoice in QBO and synced in the ledger after the outage",
        )
        code, after = status_json(env)
    finally:
        stopped = service.stop()
    assert during == half, "an invoice reached QBO during the outage: it was not an outage"
    report = fleet.exactly_once_report()
    assert report == {"duplicated": [], "lost": [], "strangers": [], "creates_off": {}}, report
    assert records_on(settings.kafka_bootstrap, settings.topics.dlq) == 0, service.log_tail()
    seen = [reasons for _, reasons in polls if reasons]
    assert seen, f"`status --json` never showed retrying during the outage: {polls[-2:]}"
    assert code == 0 and not shows_retrying(after), after
    assert service.exits == [] and stopped == 0, (service.exits, stopped, service.log_tail())
    errors = _error_lines(service.log_text())
    assert not errors, f"{len(errors)} ERROR log lines for an expected outage: {errors[:3]}"


def _wait_in_qbo(fleet: Fleet, service: Service, n: int, timeout: float, what: str) -> None:
    def done() -> bool:
        service.supervise()
        return fleet.in_qbo() >= n

    wait_until(done, timeout=timeout, interval=1.0, message=f"{what} ({n} in QBO)")


def _poll_status(env: dict[str, str], service: Service, until: float) -> list[tuple[Any, set[str]]]:
    """`status --json` every few seconds until the outage window closes: (its totals, or the
    failure, and the reasons of the documents retrying when it counts some)."""
    polls: list[tuple[Any, set[str]]] = []
    while time.time() < until:
        service.supervise()
        code, doc = status_json(env)
        if code == 0 and shows_retrying(doc):
            polls.append((doc["totals"], retrying_reasons(doc) or {"(no document listed)"}))
        else:
            polls.append((doc.get("totals") if code == 0 else (code, doc), set()))
        # Pacing the polls (a status run costs a second of CPU); the window's end is the
        # condition, checked each turn.
        time.sleep(max(0.0, min(STATUS_EVERY, until - time.time())))
    return polls


def _synced(db: Database) -> int:
    with db.transaction() as tx:
        row = tx.conn.execute(
            "select count(*) as n from sync_ledger where status = 'synced' "
            "and document_type = 'invoice'"
        ).fetchone()
    assert row is not None
    return int(row["n"])


def _error_lines(text: str) -> list[str]:
    errors = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            if "Traceback" in line:
                errors.append(line)
            continue
        if isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL"):
            errors.append(line[:500])
    return errors
