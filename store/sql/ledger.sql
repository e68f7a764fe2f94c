-- The sync ledger (PRODUCT.md §3): one row per (account, document type, Sequence id).

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
update sync_ledger
   set status = 'synced', realm_id = %(realm_id)s, qbo_id = %(qbo_id)s,
       qbo_sync_token = %(qbo_sync_token)s, payload_hash = %(payload_hash)s,
       request_id = %(request_id)s, exchange_rate = %(exchange_rate)s,
       reason_code = null, message = null, attempts = attempts + 1,
       last_attempt_at = clock_timestamp(), synced_at = clock_timestamp(),
       updated_at = clock_timestamp()
 where account_id = %(account_id)s and document_type = %(document_type)s
   and sequence_id = %(sequence_id)s;

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
