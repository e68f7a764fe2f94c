-- Background jobs of the admin API and the console (customer import, re-sync of every failed
-- document, topic replay): a request answers 202 with the job, the work runs in the serving
-- process, and anyone can follow its progress here. The result is the job's typed report
-- (JSON); import reports also name their CSV/JSON files, served as downloads.
create table jobs (
    id          text        primary key,           -- random, unguessable (uuid4 hex)
    account_id  text,                              -- null: not an account's (topic replay)
    kind        text        not null check (kind in ('customer_import', 'resync_failed', 'replay')),
    status      text        not null default 'queued'
                            check (status in ('queued', 'running', 'succeeded', 'failed')),
    params      jsonb       not null default '{}',
    done        integer     not null default 0,    -- items handled so far
    total       integer,                           -- items to handle, once known
    result      jsonb,                             -- the report when succeeded
    error       text,                              -- why it failed (never a secret)
    owner       text        not null,              -- the serving process that runs it
    created_at  timestamptz not null default now(),
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz not null default now()
);
create index jobs_account on jobs (account_id, created_at desc);
create index jobs_open on jobs (owner) where status in ('queued', 'running');
