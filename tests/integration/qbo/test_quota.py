"""Three processes share one realm's QBO quota through PostgreSQL (≈70 s: a full minute is
needed to show the per-minute limit). The emulator enforces QBO's real limits on the realm and
answers each call after 600 ms, so the 10-concurrent limit is in play as well as the rates."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from qbo.quota import Limits
from store.db import Database

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[3] / "bench" / "qbo_quota.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("qbo_quota_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(180)
def test_three_processes_stay_within_and_use_the_realm_quota(
    sb, db: Database, db_url, fernet_key
) -> None:
    bench = load_bench()
    realm_id, account = bench.register(db, fernet_key, sb, latency_ms=600)
    procs = bench.spawn(
        3,
        db_url=db_url,
        base_url=sb.base_url,
        account=account,
        key=fernet_key,
        seconds=62,
        threads=6,
    )
    outcomes = bench.collect(procs, timeout=150)
    figures = bench.analyze(sb.requests(realm=realm_id))
    print(f"\nquota: client outcomes {dict(outcomes)}; emulator figures {figures}")
    assert set(outcomes) == {"ok"}
    assert figures["throttled_429"] == 0
    assert figures["max_in_any_1s"] <= 10
    assert figures["max_in_flight"] <= 10
    # Used, not only respected: within 5% of the pace our margins allow (10 grants per 1.5 s,
    # 400 a minute: 80% of QBO's 500; a 429 would cost the realm QBO's minute).
    limits = Limits()
    designed = min(limits.per_minute, limits.per_second * 60 / limits.second_window)
    assert figures["share_of_minute_quota"] >= 0.95 * designed / 500
