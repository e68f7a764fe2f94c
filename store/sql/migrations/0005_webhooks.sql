-- Intuit webhook notices already handed off to qbo.changes (docs/architecture.md). A row is written
-- only after the broker acknowledged the notice, so a failed hand-off is retried in full, and a
-- redelivery (same CloudEvents id, or same realm/entity/id/lastUpdated) is not published again.
create table webhook_deliveries (
    dedupe_key  text        primary key,
    received_at timestamptz not null default now()
);

-- Intuit stops retrying a delivery eventually; old keys can then be pruned by age.
create index webhook_deliveries_received_at on webhook_deliveries (received_at);
