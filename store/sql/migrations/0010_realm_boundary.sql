-- A QBO company (realm) is a tenant boundary (docs/connecting-qbo.md, "Another company").
--   * links and mappings are keyed by realm: a row of another company can never answer a
--     look-up made for this one, even one written by a sync still in flight during a move;
--   * an account moves to another company only on purpose (`connect --new-company`), which
--     archives what belonged to the old one: kept for audit, never read by a sync again;
--   * a realm is held by at most one account, so webhooks and CDC have one owner.

-- Links and mappings: the realm joins the key.
alter table customer_links drop constraint customer_links_pkey,
    add primary key (account_id, realm_id, customer_id);
alter table product_mappings drop constraint product_mappings_pkey,
    add primary key (account_id, realm_id, product_id);
alter table tax_mappings drop constraint tax_mappings_pkey,
    add primary key (account_id, realm_id, tax_category_id);
drop index if exists product_mappings_item;
create index product_mappings_item on product_mappings (account_id, realm_id, qbo_item_id);

-- One row per move of an account from one company to another.
create table realm_changes (
    id           bigserial   primary key,
    account_id   text        not null,
    old_realm_id text        not null,
    new_realm_id text        not null,
    changed_at   timestamptz not null default now()
);
create index realm_changes_account on realm_changes (account_id, changed_at desc);

-- What the old company had, as it was when the account moved (audit only: nothing reads these
-- while syncing).
create table customer_links_archive (
    realm_change_id bigint      not null references realm_changes (id),
    account_id      text        not null,
    customer_id     text        not null,
    realm_id        text        not null,
    qbo_customer_id text        not null,
    qbo_sync_token  text,
    currency        text,
    synced_hash     text,
    origin          text        not null,
    linked_at       timestamptz not null,
    archived_at     timestamptz not null default now()
);
create index customer_links_archive_account on customer_links_archive (account_id, realm_id);

create table product_mappings_archive (
    realm_change_id bigint      not null references realm_changes (id),
    account_id      text        not null,
    product_id      text        not null,
    realm_id        text        not null,
    qbo_item_id     text        not null,
    item_name       text        not null,
    origin          text        not null,
    archived_at     timestamptz not null default now()
);
create index product_mappings_archive_account on product_mappings_archive (account_id, realm_id);

create table tax_mappings_archive (
    realm_change_id bigint      not null references realm_changes (id),
    account_id      text        not null,
    tax_category_id text        not null,
    realm_id        text        not null,
    qbo_tax_code_id text        not null,
    archived_at     timestamptz not null default now()
);
create index tax_mappings_archive_account on tax_mappings_archive (account_id, realm_id);

-- The settings that name objects of the company (fallback item, tax codes).
create table account_settings_archive (
    realm_change_id            bigint      not null references realm_changes (id),
    account_id                 text        not null,
    realm_id                   text        not null,
    fallback_item_id           text,
    fallback_tax_code_id       text,
    exempt_tax_code_id         text,
    reverse_charge_tax_code_id text,
    archived_at                timestamptz not null default now()
);

-- A document's QBO object in the old company. The ledger row itself stays (it is the Sequence
-- document's history); its QBO references are cleared.
create table sync_ledger_archive (
    realm_change_id bigint      not null references realm_changes (id),
    account_id      text        not null,
    document_type   text        not null,
    sequence_id     text        not null,
    realm_id        text        not null,
    qbo_id          text,
    qbo_sync_token  text,
    payload_hash    text,
    request_id      text,
    exchange_rate   numeric,
    status          text        not null,
    synced_at       timestamptz,
    archived_at     timestamptz not null default now()
);
create index sync_ledger_archive_account on sync_ledger_archive (account_id, realm_id);
create index sync_ledger_archive_qbo on sync_ledger_archive (realm_id, document_type, qbo_id);

-- A realm is held by one account. "Held" is what the webhook receiver routes on
-- (webhooks.sql `account_for_realm`): active, or waiting for re-authorization; a disconnected
-- account lets go of it. Should two accounts hold one today, the most recently connected keeps
-- it (the one webhooks already went to) and the others are disconnected.
with ranked as (
    select account_id,
           first_value(account_id) over (partition by realm_id
                                         order by (status = 'active') desc, connected_at desc,
                                                  account_id) as holder
      from qbo_connections
     where status in ('active', 'needs_reauth') and realm_id is not null
)
update qbo_connections c
   set status = 'disconnected',
       status_reason = 'QBO company ' || c.realm_id || ' is held by account ' || r.holder
                       || ' (migration 0010: one account per company)',
       access_token_enc = null,
       refresh_token_enc = null,
       access_expires_at = null,
       updated_at = now()
  from ranked r
 where r.account_id = c.account_id and r.holder <> c.account_id;

create unique index qbo_connections_realm_held on qbo_connections (realm_id)
    where status in ('active', 'needs_reauth');
