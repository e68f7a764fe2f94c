-- Payment states beyond "paid" (docs/events.md#invoicepayment_status_changed): every change of a
-- QBO invoice's payment state (status, amount paid, the Payments applied), versioned per invoice.
-- A row is the payment history shown by `paid list` and the admin API, and the transactional
-- outbox of what it announces: `invoice.payment_status_changed`, or for an invoice paid through a
-- Stripe payment link the `paid_in_qbo_ignored` notice on `qbo.sync_status`.
create table invoice_payment_events (
    id              bigserial   primary key,
    event_id        uuid        not null unique,       -- uuid5 of realm, QBO invoice id, version
    realm_id        text        not null,
    qbo_invoice_id  text        not null,
    version         integer     not null check (version > 0),
    account_id      text        not null,
    invoice_id      text        not null,              -- the Sequence invoice id, the Kafka key
    invoice_number  text,
    currency        text        not null,
    status          text        not null check (status in ('unpaid', 'partial', 'paid')),
    total_amount    numeric     not null,
    amount_paid     numeric     not null,
    balance         numeric     not null,
    payments        jsonb       not null default '[]', -- [{qbo_payment_id, txn_date, amount}]
    -- what the relay publishes for it; null: recorded only (a Stripe-link invoice not paid)
    announce        text        check (announce in ('payment_status_changed',
                                                    'paid_in_qbo_ignored')),
    occurred_at     timestamptz not null,              -- the invoice's LastUpdatedTime we read
    created_at      timestamptz not null default now(),
    sent_at         timestamptz,                       -- set once the broker acknowledged it
    unique (realm_id, qbo_invoice_id, version)
);
create index invoice_payment_events_unsent on invoice_payment_events (id)
    where sent_at is null and announce is not null;
create index invoice_payment_events_account on invoice_payment_events (account_id, invoice_id);
