"""What `GET …/connection` reports of a connection row: the refresh token's age and horizons."""

from __future__ import annotations

import datetime as dt

from sync.connect import REFRESH_HARD, REFRESH_ROLLING, _health

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "account_id": "acct_1",
        "realm_id": "9130",
        "company_name": "Sandbox Company",
        "environment": "emulator",
        "status": "active",
        "status_reason": None,
        "connected_at": NOW - dt.timedelta(days=30),
        "disconnected_at": None,
        "access_expires_at": NOW + dt.timedelta(minutes=40),
        "refresh_expires_at": None,
        "refresh_hard_expires_at": None,
        "refreshed_at": NOW - dt.timedelta(days=2, hours=12),
        "refresh_count": 7,
        "last_call_at": NOW,
        "last_webhook_at": None,
        "last_cdc_poll_at": None,
        "last_cdc_error": None,
        "db_now": NOW,
    }
    row.update(changes)
    return row


def test_the_refresh_token_is_as_old_as_its_last_refresh() -> None:
    health = _health(_row())
    assert health.refresh_token_issued_at == NOW - dt.timedelta(days=2, hours=12)
    assert health.refresh_token_age_days == 2.5
    # Without Intuit's figures: 100 days from its issue, five years from the connection.
    assert health.refresh_token_expires_at == health.refresh_token_issued_at + REFRESH_ROLLING
    assert health.refresh_token_hard_expires_at == NOW - dt.timedelta(days=30) + REFRESH_HARD
    assert health.reauth_required is False


def test_intuits_expiries_win_and_a_never_refreshed_token_dates_from_the_connection() -> None:
    rolling, hard = NOW + dt.timedelta(days=99), NOW + dt.timedelta(days=1000)
    health = _health(
        _row(refreshed_at=None, refresh_expires_at=rolling, refresh_hard_expires_at=hard)
    )
    assert health.refresh_token_age_days == 30.0
    assert (health.refresh_token_expires_at, health.refresh_token_hard_expires_at) == (
        rolling,
        hard,
    )


def test_a_refused_refresh_token_asks_for_reauthorization_and_has_no_horizon() -> None:
    health = _health(_row(status="needs_reauth", status_reason="refresh refused: invalid_grant"))
    assert health.reauth_required is True
    assert health.refresh_token_age_days is None and health.refresh_token_expires_at is None
