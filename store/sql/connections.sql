-- name: upsert_connection
-- A fresh connection (connect, or a test registering tokens): replaces whatever was there.
insert into qbo_connections (account_id, realm_id, environment, status, status_reason,
                             access_token_enc, refresh_token_enc, access_expires_at,
                             refresh_expires_at, refresh_hard_expires_at, connected_at,
                             refreshed_at, refresh_count, updated_at)
values (%(account_id)s, %(realm_id)s, %(environment)s, 'active', null, %(access_token_enc)s,
        %(refresh_token_enc)s, %(access_expires_at)s, %(refresh_expires_at)s,
        %(refresh_hard_expires_at)s, now(), null, 0, now())
on conflict (account_id) do update
   set realm_id = excluded.realm_id,
       environment = excluded.environment,
       status = 'active',
       status_reason = null,
       access_token_enc = excluded.access_token_enc,
       refresh_token_enc = excluded.refresh_token_enc,
       access_expires_at = excluded.access_expires_at,
       refresh_expires_at = excluded.refresh_expires_at,
       refresh_hard_expires_at = excluded.refresh_hard_expires_at,
       connected_at = now(),
       refreshed_at = null,
       refresh_count = 0,
       updated_at = now();

-- name: get_connection
select account_id, realm_id, environment, status, status_reason, access_token_enc,
       refresh_token_enc, access_expires_at, refresh_expires_at, refresh_hard_expires_at,
       refreshed_at, refresh_count, connected_at, updated_at, now() as db_now
  from qbo_connections
 where account_id = %(account_id)s;

-- name: lock_connection
-- Serializes refreshes across processes: the holder refreshes, the others wait here and then
-- find the new token (Intuit rotates refresh tokens; a race ends in invalid_grant).
select account_id, realm_id, environment, status, status_reason, access_token_enc,
       refresh_token_enc, access_expires_at, refresh_expires_at, refresh_hard_expires_at,
       refreshed_at, refresh_count, now() as db_now
  from qbo_connections
 where account_id = %(account_id)s
   for update;

-- name: save_refreshed_tokens
-- In the same transaction as the lock above: the newest refresh token is never lost.
update qbo_connections
   set access_token_enc = %(access_token_enc)s,
       refresh_token_enc = %(refresh_token_enc)s,
       access_expires_at = %(access_expires_at)s,
       refresh_expires_at = %(refresh_expires_at)s,
       refresh_hard_expires_at = coalesce(%(refresh_hard_expires_at)s, refresh_hard_expires_at),
       refreshed_at = now(),
       refresh_count = refresh_count + 1,
       updated_at = now()
 where account_id = %(account_id)s;

-- name: mark_needs_reauth
update qbo_connections
   set status = 'needs_reauth',
       status_reason = %(reason)s,
       access_token_enc = null,
       refresh_token_enc = null,
       updated_at = now()
 where account_id = %(account_id)s;

-- name: mark_disconnected
update qbo_connections
   set status = 'disconnected',
       status_reason = %(reason)s,
       access_token_enc = null,
       refresh_token_enc = null,
       access_expires_at = null,
       updated_at = now()
 where account_id = %(account_id)s;

-- name: list_connections
select account_id, realm_id, environment, status, status_reason, access_expires_at,
       refresh_expires_at, refresh_hard_expires_at, refreshed_at, refresh_count, connected_at,
       updated_at
  from qbo_connections
 order by account_id;
