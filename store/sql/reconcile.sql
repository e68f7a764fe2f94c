-- Reconciliation (docs/architecture.md#a-payment-back-to-invoicepaid):
-- payment facts, the invoice.paid outbox, CDC watermarks.

-- name: reconcile_invoices_of_ours
-- The QBO invoices among `qbo_ids` that the sync created in this realm, with what invoice.paid
-- needs from the Sequence snapshot.
select account_id, sequence_id as invoice_id, qbo_id as qbo_invoice_id,
       snapshot ->> 'number' as number, snapshot ->> 'currency' as currency,
       coalesce((snapshot ->> 'stripe_payment_link')::boolean, false) as stripe_payment_link
  from sync_ledger
 where realm_id = %(realm_id)s and document_type = 'invoice'
   and qbo_id = any(%(qbo_ids)s::text[]);

-- name: reconcile_invoices_paid_by
select qbo_invoice_id
  from invoice_payments
 where realm_id = %(realm_id)s and %(payment_id)s = any(qbo_payment_ids);

-- name: reconcile_read_get
-- What the reconciler last read of a QBO Invoice or Payment (migration 0015).
select last_updated, read_at, deleted
  from qbo_reads
 where realm_id = %(realm_id)s and entity = %(entity)s and entity_id = %(entity_id)s;

-- name: reconcile_read_save
-- Keeps the latest LastUpdatedTime (and when it was read); once deleted, always deleted.
insert into qbo_reads (realm_id, entity, entity_id, last_updated, read_at, deleted)
values (%(realm_id)s, %(entity)s, %(entity_id)s, %(last_updated)s, %(read_at)s, %(deleted)s)
on conflict (realm_id, entity, entity_id) do update
   set last_updated = greatest(qbo_reads.last_updated, excluded.last_updated),
       read_at = case when excluded.last_updated >= qbo_reads.last_updated
                      then greatest(qbo_reads.read_at, excluded.read_at)
                      else qbo_reads.read_at end,
       deleted = qbo_reads.deleted or excluded.deleted;

-- name: reconcile_facts
-- The facts recorded before this read (locked until the transaction ends, as the upsert after it
-- would lock them): the baseline of an invoice whose payment states predate its versions.
select status, amount_paid, qbo_payment_ids
  from invoice_payments
 where realm_id = %(realm_id)s and qbo_invoice_id = %(qbo_invoice_id)s
   for update;

-- name: reconcile_save_facts
insert into invoice_payments (realm_id, qbo_invoice_id, account_id, invoice_id, status, currency,
                              total_amount, amount_paid, paid_at, qbo_payment_ids,
                              no_event_reason, qbo_updated_at)
values (%(realm_id)s, %(qbo_invoice_id)s, %(account_id)s, %(invoice_id)s, %(status)s,
        %(currency)s, %(total_amount)s, %(amount_paid)s, %(paid_at)s, %(qbo_payment_ids)s,
        %(no_event_reason)s, %(qbo_updated_at)s)
on conflict (realm_id, qbo_invoice_id) do update
   set account_id = excluded.account_id, invoice_id = excluded.invoice_id,
       status = excluded.status, currency = excluded.currency,
       total_amount = excluded.total_amount, amount_paid = excluded.amount_paid,
       paid_at = excluded.paid_at, qbo_payment_ids = excluded.qbo_payment_ids,
       no_event_reason = excluded.no_event_reason, qbo_updated_at = excluded.qbo_updated_at,
       updated_at = now();

-- name: outbox_add_invoice_paid
-- A second notice about a paid invoice adds nothing: one invoice.paid per invoice, ever.
insert into invoice_paid_outbox (event_id, realm_id, qbo_invoice_id, account_id, invoice_id,
                                 invoice_number, currency, amount_paid, paid_at,
                                 qbo_payment_ids, occurred_at)
values (%(event_id)s, %(realm_id)s, %(qbo_invoice_id)s, %(account_id)s, %(invoice_id)s,
        %(invoice_number)s, %(currency)s, %(amount_paid)s, %(paid_at)s, %(qbo_payment_ids)s,
        %(occurred_at)s)
on conflict do nothing;

-- name: outbox_claim_unsent
-- Locked until the relay's transaction ends; a second relay skips them instead of re-sending.
select id, event_id, realm_id, qbo_invoice_id, account_id, invoice_id, invoice_number,
       currency, amount_paid, paid_at, qbo_payment_ids, occurred_at
  from invoice_paid_outbox
 where sent_at is null
 order by id
 limit %(limit)s
   for update skip locked;

-- name: outbox_mark_sent
update invoice_paid_outbox set sent_at = now() where id = any(%(ids)s::bigint[]);

-- name: cdc_realms
-- One account per realm (should two accounts hold it, the most recently connected one).
select distinct on (realm_id) account_id, realm_id
  from qbo_connections
 where status = 'active' and realm_id is not null
 order by realm_id, connected_at desc;

-- name: cdc_watermark_ensure
insert into cdc_watermarks (realm_id) values (%(realm_id)s) on conflict do nothing;

-- name: cdc_watermark_lock
-- Held for the whole pass: another process polling the same realm skips it.
select realm_id, watermark
  from cdc_watermarks
 where realm_id = %(realm_id)s
   for update skip locked;

-- name: cdc_watermark_advance
update cdc_watermarks
   set watermark = %(watermark)s, last_mode = %(mode)s, last_notices = %(notices)s,
       last_pass_at = now(), last_error = null, updated_at = now()
 where realm_id = %(realm_id)s;

-- name: cdc_watermark_failed
update cdc_watermarks
   set last_error = %(error)s, updated_at = now()
 where realm_id = %(realm_id)s;

-- name: cdc_open_invoices
-- Invoices of ours in the realm not yet known to be paid (the rescan beyond CDC's 30 days).
select l.account_id, l.qbo_id as qbo_invoice_id
  from sync_ledger l
  left join invoice_payments p on p.realm_id = l.realm_id and p.qbo_invoice_id = l.qbo_id
 where l.realm_id = %(realm_id)s and l.document_type = 'invoice' and l.status = 'synced'
   and l.qbo_id is not null and (p.status is null or p.status <> 'paid')
 order by l.qbo_id;

-- name: paid_list
-- Invoices QBO reports paid or partly paid, or whose payment state ever changed (a Payment
-- deleted after the invoice was paid leaves it unpaid again), with their history of states.
select p.account_id, p.invoice_id, p.realm_id, p.qbo_invoice_id, p.status, p.currency,
       p.total_amount, p.amount_paid, p.paid_at, p.qbo_payment_ids, p.no_event_reason,
       p.updated_at, o.event_id, o.sent_at,
       coalesce((select jsonb_agg(jsonb_build_object('version', e.version, 'status', e.status,
                                                     'amount_paid', e.amount_paid::text,
                                                     'sent', e.sent_at is not null,
                                                     'announce', e.announce)
                                  order by e.version)
                   from invoice_payment_events e
                  where e.realm_id = p.realm_id and e.qbo_invoice_id = p.qbo_invoice_id),
                '[]'::jsonb) as history
  from invoice_payments p
  left join invoice_paid_outbox o
         on o.realm_id = p.realm_id and o.qbo_invoice_id = p.qbo_invoice_id
 where (p.status in ('paid', 'partial')
        or exists (select 1 from invoice_payment_events e
                    where e.realm_id = p.realm_id and e.qbo_invoice_id = p.qbo_invoice_id))
   and (%(status)s::text is null or p.status = %(status)s)
   and (%(account_id)s::text is null or p.account_id = %(account_id)s)
 order by p.updated_at desc
 limit %(limit)s;

-- name: payment_event_latest
-- The invoice's last recorded payment state. The caller has already written the invoice's
-- invoice_payments row in its transaction, which locks it: two reconcilers of one invoice
-- take versions one after the other.
select version, status, amount_paid, payments
  from invoice_payment_events
 where realm_id = %(realm_id)s and qbo_invoice_id = %(qbo_invoice_id)s
 order by version desc
 limit 1;

-- name: payment_event_add
insert into invoice_payment_events (event_id, realm_id, qbo_invoice_id, version, account_id,
                                    invoice_id, invoice_number, currency, status, total_amount,
                                    amount_paid, balance, payments, announce, occurred_at)
values (%(event_id)s, %(realm_id)s, %(qbo_invoice_id)s, %(version)s, %(account_id)s,
        %(invoice_id)s, %(invoice_number)s, %(currency)s, %(status)s, %(total_amount)s,
        %(amount_paid)s, %(balance)s, %(payments)s, %(announce)s, %(occurred_at)s);

-- name: payment_events_claim_unsent
-- The oldest unsent announcements, locked until the relay's transaction ends. A version waits
-- while an earlier one of the same invoice is unsent (held by another relay, say): versions
-- reach the broker in order, one version of an invoice per pass.
select e.id, e.event_id, e.realm_id, e.qbo_invoice_id, e.version, e.account_id, e.invoice_id,
       e.invoice_number, e.currency, e.status, e.amount_paid, e.balance, e.payments, e.announce,
       e.occurred_at
  from invoice_payment_events e
 where e.sent_at is null and e.announce is not null
   and not exists (select 1 from invoice_payment_events b
                    where b.realm_id = e.realm_id and b.qbo_invoice_id = e.qbo_invoice_id
                      and b.version < e.version and b.sent_at is null
                      and b.announce is not null)
 order by e.id
 limit %(limit)s
   for update of e skip locked;

-- name: payment_events_mark_sent
update invoice_payment_events set sent_at = now() where id = any(%(ids)s::bigint[]);

-- name: payment_history
-- Every recorded payment state of an account's invoices (or of one invoice), oldest first.
select account_id, invoice_id, invoice_number, realm_id, qbo_invoice_id, version, event_id,
       status, currency, total_amount, amount_paid, balance, payments, announce, occurred_at,
       created_at, sent_at
  from invoice_payment_events
 where account_id = %(account_id)s
   and (%(invoice_id)s::text is null or invoice_id = %(invoice_id)s)
 order by invoice_id, realm_id, qbo_invoice_id, version
 limit %(limit)s;
