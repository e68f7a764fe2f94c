"""Migration 0010 on a database where one realm was held by several accounts (possible before
it): the one webhooks already went to keeps it, the others are disconnected with the reason."""

from __future__ import annotations

import psycopg
import pytest

from store import queries

pytestmark = pytest.mark.integration


def test_two_holders_of_one_realm_become_one(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("drop schema public cascade; create schema public")
        for number, _, sql in queries.migrations():
            if number < 10:
                conn.execute(sql.encode())
        for account, realm, status, minutes_ago in (
            ("acct_old", "r1", "active", 60),
            ("acct_new", "r1", "active", 5),
            ("acct_reauth", "r1", "needs_reauth", 1),
            ("acct_alone", "r2", "active", 90),
        ):
            tokens = (b"a", b"r") if status == "active" else (None, None)
            conn.execute(
                "insert into qbo_connections (account_id, realm_id, environment, status,"
                " access_token_enc, refresh_token_enc, connected_at)"
                " values (%s, %s, 'emulator', %s, %s, %s, now() - make_interval(mins => %s))",
                (account, realm, status, *tokens, minutes_ago),
            )
        [(_, _, sql)] = [m for m in queries.migrations() if m[0] == 10]
        conn.execute(sql.encode())
        rows = conn.execute(
            "select account_id, status, status_reason, refresh_token_enc from qbo_connections"
            " order by account_id"
        ).fetchall()
    by_account = {r[0]: r[1:] for r in rows}
    assert by_account["acct_new"][0] == "active"  # the active, most recently connected
    assert by_account["acct_alone"][0] == "active"
    for loser in ("acct_old", "acct_reauth"):
        status, reason, refresh = by_account[loser]
        assert status == "disconnected" and refresh is None
        assert "held by account acct_new" in reason
