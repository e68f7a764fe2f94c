-- QBO connections (migration 0002). An account is connected to one QBO company (realm), and a
-- realm is held by at most one account (migration 0010): see store/connections.py `connect`.

-- name: connection_lock_account
-- Serialises every (re)connection of one account, including its first, when no row exists to
-- lock yet: the realm check and the write below happen under it.
select pg_advisory_xact_lock(hashtextextended('qbo_connection/' || %(account_id)s, 0));

-- name: connection_realm_holder
-- Another account holding the realm (what webhooks and CDC would route to).
select account_id, status
  from qbo_connections
 where realm_id = %(realm_id)s and status in ('active', 'needs_reauth')
   and account_id <> %(account_id)s;

-- name: upsert_connection
-- A fresh connection (connect, or a test registering tokens). The realm changes only when the
-- caller archived the old company's data first (`realm_change_allowed`); otherwise a row of
-- another realm is left as it is and nothing is returned.
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
       company_name = case when qbo_connections.realm_id = excluded.realm_id
                           then qbo_connections.company_name end,
       last_call_at = null,
       disconnected_at = null,
       updated_at = now()
 where qbo_connections.realm_id is not distinct from excluded.realm_id
    or %(realm_change_allowed)s
returning account_id;

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
       disconnected_at = now(),
       updated_at = now()
 where account_id = %(account_id)s;

-- name: list_connections
select account_id, realm_id, environment, status, status_reason, company_name,
       access_expires_at, refresh_expires_at, refresh_hard_expires_at, refreshed_at,
       refresh_count, connected_at, updated_at
  from qbo_connections
 order by account_id;

-- Connecting over HTTP (migration 0012): the OAuth state, kept as a SHA-256 only.

-- name: oauth_state_prune
delete from oauth_states where expires_at < now();

-- name: oauth_state_create
insert into oauth_states (state_hash, account_id, new_company, expires_at)
values (%(state_hash)s, %(account_id)s, %(new_company)s,
        now() + make_interval(secs => %(ttl_seconds)s));

-- name: oauth_state_take
-- Single use: the row goes whether or not it is still fresh.
delete from oauth_states
 where state_hash = %(state_hash)s
returning state_hash, account_id, new_company, expires_at > now() as fresh;

-- name: connection_set_company_name
update qbo_connections
   set company_name = %(company_name)s, updated_at = now()
 where account_id = %(account_id)s and realm_id = %(realm_id)s;

-- name: connection_record_call
-- Cheap by design: callers ask at most about once a minute per realm, and the row is written
-- only when its stamp is older than that.
update qbo_connections
   set last_call_at = now()
 where realm_id = %(realm_id)s and status = 'active'
   and (last_call_at is null or last_call_at < now() - interval '30 seconds');

-- name: connection_record_webhook
update qbo_connections
   set last_webhook_at = now()
 where realm_id = %(realm_id)s and status in ('active', 'needs_reauth')
   and (last_webhook_at is null or last_webhook_at < now() - interval '5 seconds');

-- name: connection_holder_of_realm
-- The account holding the realm (active or waiting for re-authorization): the one Intuit's
-- disconnect URL is about.
select account_id
  from qbo_connections
 where realm_id = %(realm_id)s and status in ('active', 'needs_reauth')
 order by (status = 'active') desc, connected_at desc
 limit 1;

-- name: connection_health
-- What `GET /accounts/{id}/connection` reports; the CDC poller's last pass is per realm.
select c.account_id, c.realm_id, c.environment, c.status, c.status_reason, c.company_name,
       c.connected_at, c.disconnected_at, c.access_expires_at, c.refresh_expires_at,
       c.refresh_hard_expires_at, c.refreshed_at, c.refresh_count, c.last_call_at,
       c.last_webhook_at, w.last_pass_at as last_cdc_poll_at, w.last_error as last_cdc_error,
       now() as db_now
  from qbo_connections c
  left join cdc_watermarks w on w.realm_id = c.realm_id
 where c.account_id = %(account_id)s;

-- Moving an account to another QBO company (`connect --new-company`): what belonged to the old
-- one goes to the archive tables of migration 0010, in the transaction that stores the new
-- connection. `new_realm_id` is where the account goes; everything of any other realm moves.

-- name: connection_other_companies
-- Whether the account still holds links, mappings or document references of another company
-- than `realm_id` (an account moved before moves were checked).
select exists (select 1 from customer_links
                where account_id = %(account_id)s and realm_id <> %(realm_id)s)
    or exists (select 1 from product_mappings
                where account_id = %(account_id)s and realm_id <> %(realm_id)s)
    or exists (select 1 from tax_mappings
                where account_id = %(account_id)s and realm_id <> %(realm_id)s)
    or exists (select 1 from sync_ledger
                where account_id = %(account_id)s and realm_id <> %(realm_id)s
                  and qbo_id is not null) as found;

-- name: realm_change_record
insert into realm_changes (account_id, old_realm_id, new_realm_id)
values (%(account_id)s, %(old_realm_id)s, %(new_realm_id)s)
returning id;

-- name: archive_customer_links
with moved as (
    delete from customer_links
     where account_id = %(account_id)s and realm_id <> %(new_realm_id)s
    returning *
)
insert into customer_links_archive (realm_change_id, account_id, customer_id, realm_id,
                                    qbo_customer_id, qbo_sync_token, currency, synced_hash,
                                    origin, linked_at)
select %(change_id)s, account_id, customer_id, realm_id, qbo_customer_id, qbo_sync_token,
       currency, synced_hash, origin, linked_at
  from moved;

-- name: archive_product_mappings
with moved as (
    delete from product_mappings
     where account_id = %(account_id)s and realm_id <> %(new_realm_id)s
    returning *
)
insert into product_mappings_archive (realm_change_id, account_id, product_id, realm_id,
                                      qbo_item_id, item_name, origin)
select %(change_id)s, account_id, product_id, realm_id, qbo_item_id, item_name, origin
  from moved;

-- name: archive_tax_mappings
with moved as (
    delete from tax_mappings
     where account_id = %(account_id)s and realm_id <> %(new_realm_id)s
    returning *
)
insert into tax_mappings_archive (realm_change_id, account_id, tax_category_id, realm_id,
                                  qbo_tax_code_id)
select %(change_id)s, account_id, tax_category_id, realm_id, qbo_tax_code_id
  from moved;

-- name: archive_settings
-- The settings naming objects of the old company (fallback item, tax codes). Returns the row
-- archived, if there was anything to archive.
insert into account_settings_archive (realm_change_id, account_id, realm_id, fallback_item_id,
                                      fallback_tax_code_id, exempt_tax_code_id,
                                      reverse_charge_tax_code_id)
select %(change_id)s, account_id, %(old_realm_id)s, fallback_item_id, fallback_tax_code_id,
       exempt_tax_code_id, reverse_charge_tax_code_id
  from account_settings
 where account_id = %(account_id)s
   and num_nonnulls(fallback_item_id, fallback_tax_code_id, exempt_tax_code_id,
                    reverse_charge_tax_code_id) > 0;

-- name: clear_company_settings
update account_settings
   set fallback_item_id = null, fallback_tax_code_id = null, exempt_tax_code_id = null,
       reverse_charge_tax_code_id = null, updated_at = now()
 where account_id = %(account_id)s;

-- name: archive_ledger_refs
-- Each document's QBO object in the old company is archived and cleared from its ledger row; a
-- document that was in QBO is `pending` again (it has no object in the new company yet, and a
-- replay or re-sync creates one there). Rows without a realm are bound to the new one, so a
-- sync of the old company still in flight can never record its result on them
-- (ledger_mark_synced keeps a row's realm).
with old as (
    select account_id, document_type, sequence_id, realm_id, qbo_id, qbo_sync_token,
           payload_hash, request_id, exchange_rate, status, synced_at
      from sync_ledger
     where account_id = %(account_id)s and realm_id is distinct from %(new_realm_id)s
       for update
), saved as (
    insert into sync_ledger_archive (realm_change_id, account_id, document_type, sequence_id,
                                     realm_id, qbo_id, qbo_sync_token, payload_hash, request_id,
                                     exchange_rate, status, synced_at)
    select %(change_id)s, account_id, document_type, sequence_id, realm_id, qbo_id,
           qbo_sync_token, payload_hash, request_id, exchange_rate, status, synced_at
      from old
     where realm_id is not null and qbo_id is not null
    returning 1
)
update sync_ledger l
   set realm_id = %(new_realm_id)s,
       status = case when old.qbo_id is null then l.status else 'pending' end,
       reason_code = case when old.qbo_id is null then l.reason_code end,
       message = case when old.qbo_id is null then l.message end,
       qbo_id = null, qbo_sync_token = null, payload_hash = null, request_id = null,
       exchange_rate = null, synced_at = null, synced_snapshot_hash = null,
       updated_at = now()
  from old
 where l.account_id = old.account_id and l.document_type = old.document_type
   and l.sequence_id = old.sequence_id
returning (select count(*) from saved) as archived;

-- name: archive_create_intents
-- A create intent says "an earlier attempt may have created this in QBO": true of the old
-- company only. Left in place it would send a sync in the new company looking for the
-- document by number there, where another object may carry it.
delete from create_intents where account_id = %(account_id)s;

-- name: realm_changes_list
select id, account_id, old_realm_id, new_realm_id, changed_at
  from realm_changes
 where account_id = %(account_id)s
 order by changed_at desc, id desc;

-- name: database_ping
-- Readiness (`/readyz`): the database answers a query.
select 1 as ok;
