-- The sync ledger (docs/architecture.md#exactly-once):
-- one row per (account, document type, Sequence id).

-- name: ledger_lock_document
-- Serialises every sync of one document, whatever the topic or process it came from
-- (a live event, a replay and a re-sync of the same invoice never interleave).
select pg_advisory_xact_lock(hashtextextended(%(account_id)s || '/' || %(document_type)s
                                              || '/' || %(sequence_id)s, 0));

-- name: ledger_get
select *
  from sync_ledger
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;

-- name: ledger_receive
-- Records the latest snapshot of a document (a new row is 'pending'). An event older than the
-- stored snapshot changes nothing (a replay after newer events); returns the row either way.
insert into sync_ledger (account_id, document_type, sequence_id, customer_id, snapshot,
                         snapshot_hash, snapshot_occurred_at, status)
values (%(account_id)s, %(document_type)s, %(sequence_id)s, %(customer_id)s, %(snapshot)s,
        %(snapshot_hash)s, %(occurred_at)s, 'pending')
on conflict (account_id, document_type, sequence_id) do update
   set snapshot = excluded.snapshot,
       snapshot_hash = excluded.snapshot_hash,
       snapshot_occurred_at = excluded.snapshot_occurred_at,
       customer_id = excluded.customer_id,
       updated_at = now()
 where sync_ledger.snapshot_hash is distinct from excluded.snapshot_hash
   and (sync_ledger.snapshot_occurred_at is null
        or sync_ledger.snapshot_occurred_at <= excluded.snapshot_occurred_at);

-- name: ledger_mark_synced
-- A row keeps its realm (migration 0010): a sync of another QBO company (one still in flight
-- when the account moved) records nothing here and gets no row back.
update sync_ledger
   set status = 'synced', realm_id = %(realm_id)s, qbo_id = %(qbo_id)s,
       qbo_sync_token = %(qbo_sync_token)s, payload_hash = %(payload_hash)s,
       request_id = %(request_id)s, exchange_rate = %(exchange_rate)s,
       reason_code = null, message = null, attempts = attempts + 1,
       last_attempt_at = clock_timestamp(), synced_at = clock_timestamp(),
       updated_at = clock_timestamp()
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s
   and (realm_id is null or realm_id = %(realm_id)s);

-- name: ledger_mark_failed
update sync_ledger
   set status = 'failed', reason_code = %(reason_code)s, message = %(message)s,
       attempts = attempts + 1, last_attempt_at = now(),
       first_failed_at = coalesce(first_failed_at, now()), updated_at = now()
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;

-- name: ledger_mark_voided
update sync_ledger
   set status = 'voided', qbo_sync_token = %(qbo_sync_token)s, reason_code = null,
       message = null, attempts = attempts + 1, last_attempt_at = now(), updated_at = now()
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;

-- name: ledger_record_attempt
insert into sync_attempts (account_id, document_type, sequence_id, outcome, reason_code,
                           message, qbo_calls)
values (%(account_id)s, %(document_type)s, %(sequence_id)s, %(outcome)s, %(reason_code)s,
        %(message)s, %(qbo_calls)s);

-- name: ledger_failed
select account_id, document_type, sequence_id, customer_id, reason_code, message, attempts,
       first_failed_at, last_attempt_at
  from sync_ledger
 where status = 'failed'
   and (%(account_id)s::text is null or account_id = %(account_id)s)
   and (%(reason_code)s::text is null or reason_code = %(reason_code)s)
   and (%(customer_id)s::text is null or customer_id = %(customer_id)s)
 order by last_attempt_at desc nulls last
 limit %(limit)s;

-- name: ledger_summary
select account_id, document_type, status, count(*) as documents, max(updated_at) as latest
  from sync_ledger
 where (%(account_id)s::text is null or account_id = %(account_id)s)
 group by account_id, document_type, status
 order by account_id, document_type, status;

-- name: ledger_recent_attempts
select account_id, document_type, sequence_id, outcome, reason_code, message, qbo_calls, at
  from sync_attempts
 where (%(account_id)s::text is null or account_id = %(account_id)s)
 order by at desc, id desc
 limit %(limit)s;

-- name: intent_exists
select 1 as found
  from create_intents
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;

-- name: intent_record
insert into create_intents (account_id, document_type, sequence_id, request_id)
values (%(account_id)s, %(document_type)s, %(sequence_id)s, %(request_id)s)
on conflict (account_id, document_type, sequence_id) do update
   set request_id = excluded.request_id, created_at = now();

-- name: ledger_claim
-- The document's lease (migration 0009): taken when free, expired (its sync died) or already
-- ours; returns the row when taken, nothing while another sync holds it.
update sync_ledger
   set lease_token = %(lease_token)s,
       lease_until = clock_timestamp() + make_interval(secs => %(seconds)s)
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s
   and (lease_token is null or lease_until < clock_timestamp()
        or lease_token = %(lease_token)s)
returning *;

-- name: ledger_claim_snapshot
-- The first step of a document sync, in one statement: under the document's advisory lock
-- (taken before the row is read or written), store the snapshot unless the stored one is the
-- same or newer (as ledger_receive) and take the lease (as ledger_claim). Returns the row when
-- the lease is ours, nothing while another sync holds it: then nothing is stored either (the
-- holder may be syncing an older snapshot). The row's snapshot_hash tells whether the
-- snapshot is the one given: it differs only when the stored one is newer.
with locked as materialized (
    select pg_advisory_xact_lock(hashtextextended(%(account_id)s || '/' || %(document_type)s
                                                  || '/' || %(sequence_id)s, 0))
)
insert into sync_ledger as l (account_id, document_type, sequence_id, customer_id, snapshot,
                              snapshot_hash, snapshot_occurred_at, status, lease_token,
                              lease_until)
select %(account_id)s, %(document_type)s, %(sequence_id)s, %(customer_id)s, %(snapshot)s,
       %(snapshot_hash)s, %(occurred_at)s::timestamptz, 'pending', %(lease_token)s,
       clock_timestamp() + make_interval(secs => %(seconds)s)
  from locked
on conflict (account_id, document_type, sequence_id) do update
   set (snapshot, snapshot_hash, snapshot_occurred_at, customer_id, updated_at) = (
           select case when newer then excluded.snapshot else l.snapshot end,
                  case when newer then excluded.snapshot_hash else l.snapshot_hash end,
                  case when newer then excluded.snapshot_occurred_at
                       else l.snapshot_occurred_at end,
                  case when newer then excluded.customer_id else l.customer_id end,
                  case when newer then now() else l.updated_at end
             -- another snapshot, and not older than the stored one (ledger_receive's rule)
             from (select l.snapshot_hash is distinct from excluded.snapshot_hash
                          and coalesce(l.snapshot_occurred_at <= excluded.snapshot_occurred_at,
                                       l.snapshot_occurred_at is null) as newer) as received),
       lease_token = excluded.lease_token,
       lease_until = excluded.lease_until
 where l.lease_token is null or l.lease_until < clock_timestamp()
       or l.lease_token = excluded.lease_token
returning *;

-- name: ledger_record_synced
-- The result of a create or update in one statement: synced (a row keeps its realm, as
-- ledger_mark_synced), the snapshot QBO holds (ledger_mark_snapshot_synced), the attempt, and
-- the lease given back unless %(release)s is false. Under the document's advisory lock, taken
-- first: a credit note deciding to wait reads its invoice under the same lock. Returns the
-- number of rows recorded (0: another realm's row, nothing written).
with locked as materialized (
    select pg_advisory_xact_lock(hashtextextended(%(account_id)s || '/' || %(document_type)s
                                                  || '/' || %(sequence_id)s, 0))
), synced as (
    update sync_ledger
       set status = 'synced', realm_id = %(realm_id)s, qbo_id = %(qbo_id)s,
           qbo_sync_token = %(qbo_sync_token)s, payload_hash = %(payload_hash)s,
           request_id = %(request_id)s, exchange_rate = %(exchange_rate)s,
           reason_code = null, message = null, attempts = attempts + 1,
           last_attempt_at = clock_timestamp(), synced_at = clock_timestamp(),
           updated_at = clock_timestamp(), synced_snapshot_hash = %(snapshot_hash)s,
           lease_token = case when %(release)s and lease_token = %(lease_token)s then null
                              else lease_token end,
           lease_until = case when %(release)s and lease_token = %(lease_token)s then null
                              else lease_until end
     where account_id = %(account_id)s and document_type = %(document_type)s
       and sequence_id = %(sequence_id)s
       and (realm_id is null or realm_id = %(realm_id)s)
       and exists (select from locked)
    returning account_id, document_type, sequence_id
), attempt as (
    insert into sync_attempts (account_id, document_type, sequence_id, outcome, qbo_calls)
    select account_id, document_type, sequence_id, 'synced', %(qbo_calls)s
      from synced
)
select count(*) as recorded
  from synced;

-- name: ledger_record_skipped
-- A sync that needs no QBO write, in one statement: the snapshot QBO holds (when given), the
-- attempt `skipped`, and the lease given back.
with released as (
    update sync_ledger
       set synced_snapshot_hash = coalesce(%(snapshot_hash)s, synced_snapshot_hash),
           lease_token = case when lease_token = %(lease_token)s then null
                              else lease_token end,
           lease_until = case when lease_token = %(lease_token)s then null
                              else lease_until end
     where account_id = %(account_id)s and document_type = %(document_type)s
       and sequence_id = %(sequence_id)s
    returning account_id, document_type, sequence_id
)
insert into sync_attempts (account_id, document_type, sequence_id, outcome, qbo_calls)
select account_id, document_type, sequence_id, 'skipped', %(qbo_calls)s
  from released;

-- name: ledger_release
update sync_ledger
   set lease_token = null, lease_until = null
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s and lease_token = %(lease_token)s;

-- name: ledger_mark_snapshot_synced
-- Which snapshot QBO now holds (a replay of it makes no QBO call).
update sync_ledger
   set synced_snapshot_hash = %(snapshot_hash)s
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;

-- name: ledger_request_void
update sync_ledger
   set void_requested_at = coalesce(void_requested_at, now()), updated_at = now()
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;

-- name: ledger_adopt
-- A QBO object found for a document the ledger has no QBO id for (an invoice created in QBO
-- before the account was connected): recorded as what the document is in QBO.
insert into sync_ledger (account_id, document_type, sequence_id, customer_id, realm_id, qbo_id,
                         qbo_sync_token, status, synced_at)
values (%(account_id)s, %(document_type)s, %(sequence_id)s, %(customer_id)s, %(realm_id)s,
        %(qbo_id)s, %(qbo_sync_token)s, 'synced', clock_timestamp())
on conflict (account_id, document_type, sequence_id) do update
   set realm_id = excluded.realm_id, qbo_id = excluded.qbo_id,
       qbo_sync_token = excluded.qbo_sync_token, updated_at = clock_timestamp()
 where sync_ledger.qbo_id is null
   and (sync_ledger.realm_id is null or sync_ledger.realm_id = excluded.realm_id);

-- -- failure states (migration 0008, docs/failures.md) --------------------------------------

-- name: ledger_record_state
-- A document's failed / retrying / waiting state, with its reason. Creates the row when there
-- is none yet (a customer.updated failure, a sync that failed before anything was stored);
-- `state_since` moves only when the status or the reason does (trigger of migration 0008).
insert into sync_ledger (account_id, document_type, sequence_id, customer_id, status,
                         reason_code, message, attempts, last_attempt_at, first_failed_at,
                         waits_for_type, waits_for_id)
values (%(account_id)s, %(document_type)s, %(sequence_id)s, %(customer_id)s, %(status)s,
        %(reason_code)s, %(message)s, 1, now(),
        case when %(status)s = 'failed' then now() end,
        %(waits_for_type)s, %(waits_for_id)s)
on conflict (account_id, document_type, sequence_id) do update
   set status = excluded.status, reason_code = excluded.reason_code,
       message = excluded.message,
       customer_id = coalesce(sync_ledger.customer_id, excluded.customer_id),
       attempts = sync_ledger.attempts + 1, last_attempt_at = now(),
       first_failed_at = case when excluded.status = 'failed'
                              then coalesce(sync_ledger.first_failed_at, now())
                              else sync_ledger.first_failed_at end,
       waits_for_type = excluded.waits_for_type, waits_for_id = excluded.waits_for_id,
       updated_at = now();

-- name: ledger_clear_state
-- A customer.updated that went through: its failed/retrying row is done with.
update sync_ledger
   set status = 'synced', reason_code = null, message = null, attempts = attempts + 1,
       last_attempt_at = now(), synced_at = now(), updated_at = now()
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s and status in ('failed', 'retrying', 'waiting');

-- name: ledger_waiting_on
select account_id, document_type, sequence_id
  from sync_ledger
 where account_id = %(account_id)s and waits_for_type = %(waits_for_type)s
   and waits_for_id = %(waits_for_id)s and status = 'waiting'
 order by sequence_id;

-- name: ledger_waking_for_invoice
-- Documents an invoice's sync clears: those stored waiting on it, and credit notes failed
-- with invoice_not_synced before waiting was a state (their snapshot names the invoice).
select account_id, document_type, sequence_id
  from sync_ledger
 where account_id = %(account_id)s
   and ((status = 'waiting' and waits_for_type = 'invoice' and waits_for_id = %(invoice_id)s)
        or (status in ('failed', 'waiting') and reason_code = 'invoice_not_synced'
            and document_type = 'credit_note' and snapshot ->> 'invoice_id' = %(invoice_id)s))
 order by document_type, sequence_id;

-- name: ledger_waking_for_customer
-- Documents linking the customer clears (failed or waiting with customer_not_linked), and the
-- customer's own failed customer.updated row.
select account_id, document_type, sequence_id
  from sync_ledger
 where account_id = %(account_id)s and customer_id = %(customer_id)s
   and status in ('failed', 'waiting') and reason_code = 'customer_not_linked'
 order by document_type, sequence_id;

-- name: ledger_problems
-- Documents in a failure state, newest state first (status, status page).
select account_id, document_type, sequence_id, customer_id, status, reason_code, message,
       attempts, state_since, first_failed_at, last_attempt_at, waits_for_type, waits_for_id
  from sync_ledger
 where status in ('failed', 'retrying', 'waiting')
   and (%(account_id)s::text is null or account_id = %(account_id)s)
   and (%(status)s::text is null or status = %(status)s)
   and (%(reason_code)s::text is null or reason_code = %(reason_code)s)
 order by state_since desc, sequence_id
 limit %(limit)s;

-- name: ledger_mark_published
-- The state qbo.sync_status announced last (after the broker acknowledged it), with the payload
-- QBO held then: a new version synced is announced too.
update sync_ledger
   set published_status = %(status)s, published_reason = %(reason_code)s,
       published_hash = %(payload_hash)s
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;
