-- What the reconciler last read of each QBO Invoice and Payment, so that an idle service costs
-- (almost) nothing: a change notice about an entity already read at the same or a later
-- LastUpdatedTime costs no QBO call, so webhook retries, the CDC poller's overlap and a replay
-- of qbo.changes re-read nothing.
create table qbo_reads (
    realm_id      text        not null,
    entity        text        not null check (entity in ('Invoice', 'Payment')),
    entity_id     text        not null,
    last_updated  timestamptz not null,            -- the entity's MetaData.LastUpdatedTime
    -- our clock before the read: a read begun after the stamp's second ended saw every write
    -- stamped with it (LastUpdatedTime has whole seconds)
    read_at       timestamptz not null,
    deleted       boolean     not null default false, -- gone from QBO (a deleted Payment)
    primary key (realm_id, entity, entity_id)
);
