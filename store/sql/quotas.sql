-- name: quota_ensure_realm
-- The window row and the slot rows of a realm (idempotent; run once per process and realm).
with w as (
    insert into qbo_quota_windows (realm_id) values (%(realm_id)s) on conflict do nothing
)
insert into qbo_quota_slots (realm_id, slot)
select %(realm_id)s, n from generate_series(1, %(slots)s) as n
on conflict do nothing;

-- name: quota_lock_window
-- The realm's grants, locked for this transaction.
select grants
  from qbo_quota_windows
 where realm_id = %(realm_id)s
   for update;

-- name: quota_now
-- The database clock, one clock for all processes and hosts; read after the lock is held.
select extract(epoch from clock_timestamp())::double precision as now;

-- name: quota_save_window
update qbo_quota_windows set grants = %(grants)s where realm_id = %(realm_id)s;

-- name: quota_take_slot
-- A free or expired slot, among the first `slots` of the realm; skip locked: never wait here.
update qbo_quota_slots s
   set holder = %(holder)s,
       expires_at = clock_timestamp() + make_interval(secs => %(lease_seconds)s)
  from (select realm_id, slot
          from qbo_quota_slots
         where realm_id = %(realm_id)s and slot <= %(slots)s
           and (holder is null or expires_at < clock_timestamp())
         order by slot
         limit 1
           for update skip locked) free
 where s.realm_id = free.realm_id and s.slot = free.slot
returning s.slot;

-- name: quota_release_slot
update qbo_quota_slots
   set holder = null, expires_at = null
 where realm_id = %(realm_id)s and slot = %(slot)s and holder = %(holder)s;

-- name: quota_slots_in_use
select count(*) as in_use
  from qbo_quota_slots
 where realm_id = %(realm_id)s and holder is not null and expires_at >= clock_timestamp();
