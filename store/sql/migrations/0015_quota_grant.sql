-- A QBO quota grant in one statement (one round trip, one short transaction): every QBO request
-- takes one, so the lock of the realm's window row, the decision, the slot and the saved window
-- were four statements and a transaction before.

-- The sliding-window decision, pure: the SQL twin of `qbo.quota.admit` (tests compare the two).
-- `grants` are past grant times (ascending, epoch seconds). Returns (0, grants kept + now) when a
-- request may go now, else (seconds to wait, grants kept): it waits until the oldest grant that
-- counts leaves its window.
create function qbo_quota_admit(
    grants double precision[],
    now double precision,
    per_second integer,
    per_minute integer,
    second_window double precision,
    minute_window double precision,
    out wait double precision,
    out kept double precision[]
) language plpgsql immutable as $$
declare
    recent double precision[];
    last_second double precision[];
    n_recent integer;
    n_second integer;
    waits double precision[] := '{}';
begin
    recent := array(select g from unnest(grants) with ordinality as u(g, i)
                     where g > now - minute_window order by i);
    last_second := array(select g from unnest(recent) with ordinality as u(g, i)
                          where g > now - second_window order by i);
    n_recent := cardinality(recent);
    n_second := cardinality(last_second);
    if n_recent >= per_minute then
        waits := waits || (recent[n_recent - per_minute + 1] + minute_window - now);
    end if;
    if n_second >= per_second then
        waits := waits || (last_second[n_second - per_second + 1] + second_window - now);
    end if;
    if cardinality(waits) > 0 then
        wait := greatest(0.001, (select max(w) from unnest(waits) as w));
        kept := recent;
    else
        wait := 0;
        kept := recent || now;
    end if;
end $$;

-- One try for a request of the realm: (slot, 0) when granted; else (null, seconds to wait) or
-- (null, -1) when every slot is taken. The window row is locked for the statement's transaction
-- and the clock (one clock for all processes and hosts) read once the lock is held; a slot is
-- free or its lease expired (skip locked: never wait for a slot); the grant is saved only with
-- a slot.
create function qbo_quota_grant(
    p_realm_id text,
    p_holder text,
    p_slots integer,
    p_lease_seconds double precision,
    p_per_second integer,
    p_per_minute integer,
    p_second_window double precision,
    p_minute_window double precision,
    out slot integer,
    out wait double precision
) language plpgsql as $$
declare
    past double precision[];
    at double precision;
    decided record;
begin
    select w.grants into past
      from qbo_quota_windows w
     where w.realm_id = p_realm_id
       for update;
    if not found then
        raise exception 'no quota window for realm % (ensure_realm first)', p_realm_id;
    end if;
    at := extract(epoch from clock_timestamp());
    decided := qbo_quota_admit(past, at, p_per_second, p_per_minute, p_second_window,
                               p_minute_window);
    if decided.wait > 0 then
        slot := null;
        wait := decided.wait;
        return;
    end if;
    update qbo_quota_slots s
       set holder = p_holder,
           expires_at = clock_timestamp() + make_interval(secs => p_lease_seconds)
      from (select f.realm_id, f.slot
              from qbo_quota_slots f
             where f.realm_id = p_realm_id and f.slot <= p_slots
               and (f.holder is null or f.expires_at < clock_timestamp())
             order by f.slot
             limit 1
               for update skip locked) free
     where s.realm_id = free.realm_id and s.slot = free.slot
    returning s.slot into slot;
    if slot is null then
        wait := -1;
        return;
    end if;
    update qbo_quota_windows w set grants = decided.kept where w.realm_id = p_realm_id;
    wait := 0;
end $$;
