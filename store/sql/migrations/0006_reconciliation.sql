-- Reconciliation (docs/architecture.md#a-payment-back-to-invoicepaid): what QBO says about the
-- payment of our invoices, the transactional outbox of `invoice.paid`, and the CDC poller's
-- watermark per realm.

-- The latest payment facts the reconciler read from QBO, one row per QBO invoice of ours.
create table invoice_payments (
    realm_id        text        not null,
    qbo_invoice_id  text        not null,
    account_id      text        not null,
    invoice_id      text        not null,              -- the Sequence invoice id
    status          text        not null check (status in ('unpaid', 'partial', 'paid')),
    currency        text        not null,
    total_amount    numeric     not null,              -- QBO TotalAmt
    amount_paid     numeric     not null,              -- TotalAmt - Balance (invoice currency)
    paid_at         date,                              -- TxnDate of the latest linked Payment
    qbo_payment_ids text[]      not null default '{}', -- Payments applied to it (amount > 0)
    no_event_reason text,       -- why a paid invoice gets no invoice.paid (stripe_payment_link)
    qbo_updated_at  timestamptz not null,              -- the invoice's LastUpdatedTime we read
    updated_at      timestamptz not null default now(),
    primary key (realm_id, qbo_invoice_id)
);
create index invoice_payments_account on invoice_payments (account_id, status);
-- "which invoices did this Payment pay?" once the Payment is deleted and unreadable
create index invoice_payments_payment_ids on invoice_payments using gin (qbo_payment_ids);

-- The transactional outbox of invoice.paid: written in the reconciler's transaction, published
-- by the relay. At most one row per QBO invoice, ever: "exactly once per invoice".
create table invoice_paid_outbox (
    id              bigserial   primary key,
    event_id        uuid        not null unique,       -- uuid5 of realm and QBO invoice id
    realm_id        text        not null,
    qbo_invoice_id  text        not null,
    account_id      text        not null,
    invoice_id      text        not null,              -- the Kafka key
    invoice_number  text,
    currency        text        not null,
    amount_paid     numeric     not null,
    paid_at         date        not null,
    qbo_payment_ids text[]      not null,
    occurred_at     timestamptz not null,
    created_at      timestamptz not null default now(),
    sent_at         timestamptz,                       -- set once the broker acknowledged it
    unique (realm_id, qbo_invoice_id)
);
create index invoice_paid_outbox_unsent on invoice_paid_outbox (id) where sent_at is null;

-- The CDC poller's progress per realm. `watermark` only moves after a clean pass.
create table cdc_watermarks (
    realm_id     text        primary key,
    watermark    timestamptz,                          -- start of the last clean pass
    last_mode    text        check (last_mode in ('cdc', 'rescan')),
    last_notices integer,
    last_pass_at timestamptz,
    last_error   text,                                 -- of the last failed pass, if later
    updated_at   timestamptz not null default now()
);
