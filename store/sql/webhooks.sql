-- name: account_for_realm
-- The Sequence account whose QBO connection is this realm (table from migration 0002).
-- A disconnected realm gets no notices; one needing re-authorization still does, so nothing is
-- lost while the merchant reconnects. Should two accounts ever hold the realm, the active,
-- most recently connected one wins.
select account_id
  from qbo_connections
 where realm_id = %(realm_id)s
   and status in ('active', 'needs_reauth')
 order by (status = 'active') desc, connected_at desc
 limit 1;

-- name: seen_webhook_deliveries
select dedupe_key
  from webhook_deliveries
 where dedupe_key = any(%(keys)s::text[]);

-- name: record_webhook_deliveries
-- Idempotent: a key recorded by a concurrent redelivery is left as it is.
insert into webhook_deliveries (dedupe_key)
select unnest(%(keys)s::text[])
    on conflict (dedupe_key) do nothing;
