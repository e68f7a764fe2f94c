-- Connecting over HTTP (docs/connecting-qbo.md): the OAuth `state` kept server side, and what
-- `GET /accounts/{id}/connection` reports of a connection's health.

-- One row per authorization in progress. Only a SHA-256 of the state is kept: a database dump
-- gives nobody a state that a callback would accept. Deleted when used (single use); a row
-- past `expires_at` is refused and pruned by the next state created.
create table oauth_states (
    state_hash  bytea       primary key,
    account_id  text        not null,
    new_company boolean     not null default false,   -- `connect --new-company`, bound here
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null
);
create index oauth_states_expires_at on oauth_states (expires_at);

-- Connection health, each updated at most about once a minute per realm and process.
alter table qbo_connections
    add column company_name     text,           -- CompanyInfo.CompanyName, read at connect
    add column last_call_at     timestamptz,    -- the last API call QBO answered successfully
    add column last_webhook_at  timestamptz,    -- the last signed webhook naming the realm
    add column disconnected_at  timestamptz;
