-- Customer, product and tax set-up (docs/qbo-mapping.md): what the earlier migrations lack.

-- Import runs: when an account was last imported and what came of it (operators, the API).
create table customer_imports (
    id           bigserial   primary key,
    account_id   text        not null,
    realm_id     text        not null,
    scanned      integer     not null,
    imported     integer     not null,
    skipped      integer     not null,  -- already linked: a re-run publishes nothing for them
    rejected     integer     not null,
    report_csv   text,
    report_json  text,
    finished_at  timestamptz not null default now()
);
create index customer_imports_recent on customer_imports (account_id, finished_at desc);

-- Several products may share one item (plan variants), so this index is not unique; it serves
-- the "this item already maps products X, Y" hint.
create index product_mappings_item on product_mappings (account_id, qbo_item_id);
