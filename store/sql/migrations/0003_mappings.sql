-- Per-account settings and the mappings a merchant makes before documents can flow
-- (docs/qbo-mapping.md), plus the snapshot ordering guard of the ledger.

create table account_settings (
    account_id               text        primary key,
    merchant_email           text,
    txn_date_source          text        not null default 'invoice_date'
                                         check (txn_date_source in ('invoice_date', 'accounting_date')),
    fallback_item_id         text,       -- QBO Item Id used for unmapped products
    fallback_tax_code_id     text,
    exempt_tax_code_id       text,
    reverse_charge_tax_code_id text,
    auto_create_customers    boolean     not null default false,
    updated_at               timestamptz not null default now()
);

-- Sequence product → QBO Item (created as a Service item, or an existing one linked).
create table product_mappings (
    account_id   text        not null,
    product_id   text        not null,
    realm_id     text        not null,
    qbo_item_id  text        not null,
    item_name    text        not null,
    origin       text        not null check (origin in ('created', 'linked')),
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now(),
    primary key (account_id, product_id)
);

-- Sequence tax category → QBO TaxCode (for US realms also the pseudo codes TAX / NON).
create table tax_mappings (
    account_id      text        not null,
    tax_category_id text        not null,
    realm_id        text        not null,
    qbo_tax_code_id text        not null,
    updated_at      timestamptz not null default now(),
    primary key (account_id, tax_category_id)
);

-- An older event never overwrites a newer snapshot of a document (replays, redeliveries).
alter table sync_ledger add column snapshot_occurred_at timestamptz;
