-- A create about to be sent to QBO, committed before the request leaves (its own transaction).
-- When a sync finds no QBO id in the ledger and no intent, nothing of it can be in QBO, so it
-- creates without a duplicate look-up (one QBO call per invoice). An intent without a ledger
-- QBO id means an earlier attempt may have created it: only then is QBO searched first.
create table create_intents (
    account_id    text        not null,
    document_type text        not null,
    sequence_id   text        not null,
    request_id    text        not null,
    created_at    timestamptz not null default now(),
    primary key (account_id, document_type, sequence_id)
);
