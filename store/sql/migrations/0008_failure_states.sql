-- Every failure is a visible state (docs/failures.md): besides `failed`, a document can be
-- `retrying` (a transient cause we wait out: QBO throttling or an outage, the database) or
-- `waiting` (on another document, e.g. the invoice a credit note credits). Each of the three
-- carries a reason code.
--   state_since       when the status or the reason last changed ("retrying since 10:02")
--   waits_for_type/id the document a `waiting` one waits on, so that one's sync can wake it
--   published_status/ the state last announced on qbo.sync_status: one publication per state
--   published_reason/ change (or new version synced), not per attempt (compared after each
--   published_hash    attempt, set once the broker acknowledged it)
alter table sync_ledger drop constraint sync_ledger_status_check;
alter table sync_ledger add constraint sync_ledger_status_check
    check (status in ('pending', 'synced', 'failed', 'voided', 'retrying', 'waiting'));
alter table sync_ledger drop constraint sync_ledger_check;
alter table sync_ledger add constraint sync_ledger_reason_check
    check ((status in ('failed', 'retrying', 'waiting')) = (reason_code is not null));

alter table sync_ledger
    add column state_since      timestamptz,
    add column waits_for_type   text,
    add column waits_for_id     text,
    add column published_status text,
    add column published_reason text,
    add column published_hash   text;

update sync_ledger
   set state_since = coalesce(last_attempt_at, updated_at),
       published_status = status,  -- what the earlier per-attempt publications already said
       published_reason = reason_code,
       published_hash = payload_hash;
alter table sync_ledger alter column state_since set not null,
                        alter column state_since set default now();

-- Kept by the database, whoever writes the row: `state_since` moves when the state does, and
-- only a waiting document waits on something.
create function sync_ledger_state_since() returns trigger language plpgsql as $$
begin
    if new.status is distinct from old.status or new.reason_code is distinct from old.reason_code
    then
        new.state_since := now();
    end if;
    if new.status <> 'waiting' then
        new.waits_for_type := null;
        new.waits_for_id := null;
    end if;
    return new;
end $$;
create trigger sync_ledger_state_since before update on sync_ledger
    for each row execute function sync_ledger_state_since();

-- "Which documents wait on invoice X?" when X syncs.
create index sync_ledger_waits_for on sync_ledger (account_id, waits_for_type, waits_for_id)
    where waits_for_id is not null;
-- Documents a later event may clear (customer_not_linked when the customer is linked).
drop index sync_ledger_waiting_customer;
create index sync_ledger_waiting_customer on sync_ledger (account_id, customer_id)
    where status in ('failed', 'waiting', 'retrying');

alter table sync_attempts drop constraint sync_attempts_outcome_check;
alter table sync_attempts add constraint sync_attempts_outcome_check
    check (outcome in ('synced', 'skipped', 'failed', 'voided', 'retrying', 'waiting'));
