-- Background jobs (migration 0013 `jobs`).

-- name: job_create
insert into jobs (id, account_id, kind, params, owner)
values (%(id)s, %(account_id)s, %(kind)s, %(params)s, %(owner)s)
returning *;

-- name: job_get
select * from jobs where id = %(id)s;

-- name: job_list
select * from jobs
 where (%(account_id)s::text is null or account_id = %(account_id)s)
 order by created_at desc, id
 limit %(limit)s;

-- name: job_start
update jobs set status = 'running', started_at = now(), updated_at = now()
 where id = %(id)s and status = 'queued';

-- name: job_progress
update jobs set done = %(done)s, total = %(total)s, updated_at = now()
 where id = %(id)s and status = 'running';

-- name: job_succeed
update jobs set status = 'succeeded', result = %(result)s, done = greatest(done, %(done)s),
       finished_at = now(), updated_at = now()
 where id = %(id)s and status = 'running';

-- name: job_fail
update jobs set status = 'failed', error = %(error)s, finished_at = now(), updated_at = now()
 where id = %(id)s and status in ('queued', 'running');

-- name: job_abandon_others
-- A serving process that starts again finds the jobs its previous run (same owner name) left
-- open: they were ended with it, so they are failed, not left running forever.
update jobs set status = 'failed', error = %(error)s, finished_at = now(), updated_at = now()
 where owner = %(owner)s and status in ('queued', 'running') and created_at < %(before)s;
