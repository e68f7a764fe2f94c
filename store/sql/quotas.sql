-- name: quota_ensure_realm
-- The window row and the slot rows of a realm (idempotent; run once per process and realm).
with w as (
    insert into qbo_quota_windows (realm_id) values (%(realm_id)s) on conflict do nothing
)
insert into qbo_quota_slots (realm_id, slot)
select %(realm_id)s, n from generate_series(1, %(slots)s) as n
on conflict do nothing;

-- name: quota_grant
-- One try, one statement (migration 0015, `qbo_quota_grant`): (slot, 0) when granted; else
-- (null, seconds to wait) or (null, -1) when every slot is taken.
select slot, wait
  from qbo_quota_grant(%(realm_id)s, %(holder)s, %(slots)s, %(lease_seconds)s,
                       %(per_second)s, %(per_minute)s, %(second_window)s, %(minute_window)s);

-- name: quota_admit
-- The window rule alone (pure; tests compare it with `qbo.quota.admit`).
select wait, kept
  from qbo_quota_admit(%(grants)s, %(now)s, %(per_second)s, %(per_minute)s,
                       %(second_window)s, %(minute_window)s);

-- name: quota_lock_window
-- The realm's grants, locked for this transaction (tests hold it to make others wait).
select grants
  from qbo_quota_windows
 where realm_id = %(realm_id)s
   for update;

-- name: quota_now
-- The database clock, one clock for all processes and hosts.
select extract(epoch from clock_timestamp())::double precision as now;

-- name: quota_release_slot
update qbo_quota_slots
   set holder = null, expires_at = null
 where realm_id = %(realm_id)s and slot = %(slot)s and holder = %(holder)s;

-- name: quota_slots_in_use
select count(*) as in_use
  from qbo_quota_slots
 where realm_id = %(realm_id)s and holder is not null and expires_at >= clock_timestamp();
