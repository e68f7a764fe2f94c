-- The sync ledger (docs/architecture.md#exactly-once) and the customer snapshots it depends on.

-- Latest Sequence snapshot per customer, whether linked to QBO or not (linking needs it later).
create table customers (
    account_id       text        not null,
    customer_id      text        not null,
    snapshot         jsonb       not null,
    snapshot_hash    text        not null,  -- sha256 of the canonical snapshot JSON
    last_event_id    uuid        not null,
    last_occurred_at timestamptz not null,  -- an older event never overwrites a newer snapshot
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now(),
    primary key (account_id, customer_id)
);

-- Link between a Sequence customer and a QBO customer in the account's realm.
create table customer_links (
    account_id      text        not null,
    customer_id     text        not null,
    realm_id        text        not null,
    qbo_customer_id text        not null,
    qbo_sync_token  text,
    currency        text,                   -- the QBO customer's currency (immutable in QBO)
    synced_hash     text,                   -- snapshot hash last written to QBO
    origin          text        not null check (origin in ('link', 'create', 'import', 'auto')),
    linked_at       timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (account_id, customer_id),
    unique (account_id, realm_id, qbo_customer_id)
);

-- (account, document type, Sequence id) → QBO object, with the state of its last sync attempt.
create table sync_ledger (
    account_id      text        not null,
    document_type   text        not null check (document_type in ('invoice', 'credit_note', 'customer')),
    sequence_id     text        not null,
    customer_id     text,                   -- for re-syncing a customer's documents on link
    realm_id        text,
    qbo_id          text,
    qbo_sync_token  text,
    payload_hash    text,                   -- hash of the payload QBO holds (synced state)
    snapshot        jsonb,                  -- latest snapshot received (manual and automatic re-sync)
    snapshot_hash   text,
    status          text        not null check (status in ('pending', 'synced', 'failed', 'voided')),
    reason_code     text,                   -- e.g. customer_not_linked; null unless failed
    message         text,
    attempts        integer     not null default 0,
    request_id      text,                   -- QBO requestid of the last create/update
    exchange_rate   numeric,                -- home units per foreign unit, reused by replays
    first_failed_at timestamptz,
    last_attempt_at timestamptz,
    synced_at       timestamptz,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    primary key (account_id, document_type, sequence_id),
    check ((status = 'failed') = (reason_code is not null))
);
create index sync_ledger_status on sync_ledger (account_id, status);
create index sync_ledger_waiting_customer on sync_ledger (account_id, customer_id)
    where status = 'failed';
create unique index sync_ledger_qbo_object on sync_ledger (realm_id, document_type, qbo_id)
    where qbo_id is not null;

-- Every attempt's outcome (status page, `sequence-qbo status`).
create table sync_attempts (
    id            bigserial   primary key,
    account_id    text        not null,
    document_type text        not null,
    sequence_id   text        not null,
    outcome       text        not null check (outcome in ('synced', 'skipped', 'failed', 'voided')),
    reason_code   text,
    message       text,
    qbo_calls     integer     not null default 0,
    at            timestamptz not null default now()
);
create index sync_attempts_recent on sync_attempts (account_id, at desc);
