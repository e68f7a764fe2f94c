-- QBO connections and the per-realm quota state shared by all processes
-- (docs/architecture.md#connections-and-security, #ordering-and-concurrency).

-- One QBO company per Sequence account. Tokens are Fernet-encrypted (never plaintext here).
create table qbo_connections (
    account_id          text        primary key,
    realm_id            text,
    environment         text        not null,          -- production | sandbox | emulator
    status              text        not null check (status in ('active', 'needs_reauth',
                                                               'disconnected')),
    status_reason       text,                           -- why it needs re-authorization
    access_token_enc    bytea,
    refresh_token_enc   bytea,
    access_expires_at   timestamptz,
    refresh_expires_at  timestamptz,                    -- rolling (about 100 days)
    refresh_hard_expires_at timestamptz,                -- 5-year hard limit (2025 policy)
    refreshed_at        timestamptz,
    refresh_count       integer     not null default 0,
    connected_at        timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    check ((status = 'active') = (access_token_enc is not null and refresh_token_enc is not null
                                  and realm_id is not null))
);
create index qbo_connections_realm on qbo_connections (realm_id);

-- Sliding-window log of granted requests per realm: epoch seconds (database clock) of the grants
-- of the last minute. One row per realm, locked (select ... for update) for each grant.
create table qbo_quota_windows (
    realm_id   text               primary key,
    grants     double precision[] not null default '{}'
);

-- Concurrency slots per realm: a request holds one while in flight. A lease expires, so a
-- process that crashed mid-request gives its slot back by itself.
create table qbo_quota_slots (
    realm_id   text        not null,
    slot       smallint    not null,
    holder     text,
    expires_at timestamptz,
    primary key (realm_id, slot)
);
