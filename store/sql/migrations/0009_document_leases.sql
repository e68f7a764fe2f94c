-- Short transactions for the document sync: no transaction (nor pool connection) is held while
-- QBO answers, so one sync at a time per document is a lease on its ledger row instead of a
-- lock held across the whole sync.
--   lease_token/lease_until  who syncs the document now, and until when: a live event, a replay,
--                            a re-sync or another process after a rebalance waits for it (an
--                            expired lease belongs to a sync that died: anyone may take it)
--   synced_snapshot_hash     the snapshot QBO holds: the snapshot is stored before the QBO call,
--                            so "stored snapshot = synced" can no longer be read off the status
--   void_requested_at        invoice.voided arrived: the void is applied as soon as the invoice
--                            is in QBO (a void may arrive before its invoice)
alter table sync_ledger
    add column lease_token          text,
    add column lease_until          timestamptz,
    add column synced_snapshot_hash text,
    add column void_requested_at    timestamptz;

update sync_ledger
   set synced_snapshot_hash = snapshot_hash
 where status in ('synced', 'voided');
