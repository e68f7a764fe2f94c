-- name: upsert_customer_snapshot
-- Stores the snapshot unless it is unchanged or older than the stored one; a replayed event
-- therefore writes nothing. Returns a row only when something was written.
insert into customers (account_id, customer_id, snapshot, snapshot_hash, last_event_id,
                       last_occurred_at)
values (%(account_id)s, %(customer_id)s, %(snapshot)s, %(snapshot_hash)s, %(event_id)s,
        %(occurred_at)s)
on conflict (account_id, customer_id) do update
   set snapshot = excluded.snapshot,
       snapshot_hash = excluded.snapshot_hash,
       last_event_id = excluded.last_event_id,
       last_occurred_at = excluded.last_occurred_at,
       updated_at = now()
 where customers.snapshot_hash <> excluded.snapshot_hash
   and customers.last_occurred_at <= excluded.last_occurred_at
returning (xmax = 0) as inserted;

-- name: get_customer_snapshot
select account_id, customer_id, snapshot, snapshot_hash, last_event_id, last_occurred_at,
       updated_at
  from customers
 where account_id = %(account_id)s and customer_id = %(customer_id)s;

-- name: list_customer_snapshots
select c.account_id, c.customer_id, c.snapshot, c.last_occurred_at, c.updated_at,
       l.qbo_customer_id
  from customers c
  left join customer_links l using (account_id, customer_id)
 where (%(account_id)s::text is null or c.account_id = %(account_id)s)
 order by c.account_id, c.customer_id
 limit %(limit)s;
