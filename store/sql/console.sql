-- What the operator console (api/console) reads besides the ledger queries it shares.

-- name: console_accounts
-- Every account the service knows: connected ones and those with documents only.
select a.account_id, c.realm_id, c.environment, c.status, c.status_reason, c.connected_at,
       c.access_expires_at, c.refresh_expires_at, c.refreshed_at,
       to_jsonb(c) ->> 'company_name' as company_name,
       (to_jsonb(c) ->> 'last_call_at')::timestamptz as last_call_at
  from (select account_id from qbo_connections
        union
        select distinct account_id from sync_ledger) a
  left join qbo_connections c using (account_id)
 order by a.account_id;

-- name: console_state_counts
-- Documents per account and state (synced, failed, retrying, waiting, …).
select account_id, status as state, count(*)::int as documents
  from sync_ledger
 group by 1, 2
 order by 1, 2;

-- name: console_recent_synced
-- The account's documents last written to QBO, newest first, with the QBO object they are.
select document_type, sequence_id, realm_id, qbo_id, status, synced_at
  from sync_ledger
 where account_id = %(account_id)s and qbo_id is not null
 order by synced_at desc nulls last, sequence_id
 limit %(limit)s;

-- name: console_document_snapshot
select snapshot from sync_ledger
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;

-- name: console_unlinked_customers
-- Sequence customers no QBO customer is linked to (in any company of the account).
select c.customer_id, c.snapshot ->> 'legal_name' as legal_name,
       c.snapshot ->> 'email' as email
  from customers c
 where c.account_id = %(account_id)s
   and not exists (select 1 from customer_links l
                    where l.account_id = c.account_id and l.customer_id = c.customer_id)
 order by c.customer_id
 limit %(limit)s;
