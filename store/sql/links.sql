-- Links between Sequence customers and QBO customers (migration 0001 `customer_links`), keyed
-- by realm (migration 0010): every look-up names the realm of the client it serves, so a link
-- to another QBO company's customer is never used.

-- name: link_get
select * from customer_links
 where account_id = %(account_id)s and realm_id = %(realm_id)s
   and customer_id = %(customer_id)s;

-- name: link_by_qbo_customer
select * from customer_links
 where account_id = %(account_id)s and realm_id = %(realm_id)s
   and qbo_customer_id = %(qbo_customer_id)s;

-- name: link_insert
-- Returns nothing when the customer (or the QBO customer) is already linked: the caller
-- reads the existing link and decides (idempotent re-link, or a conflict).
insert into customer_links (account_id, customer_id, realm_id, qbo_customer_id, qbo_sync_token,
                            currency, synced_hash, origin)
values (%(account_id)s, %(customer_id)s, %(realm_id)s, %(qbo_customer_id)s, %(qbo_sync_token)s,
        %(currency)s, %(synced_hash)s, %(origin)s)
on conflict do nothing
returning *;

-- name: link_mark_synced
update customer_links
   set qbo_sync_token = %(qbo_sync_token)s, synced_hash = %(synced_hash)s, updated_at = now()
 where account_id = %(account_id)s and realm_id = %(realm_id)s
   and customer_id = %(customer_id)s;

-- name: link_list
-- The operator's list: the account's live links (another company's were archived when the
-- account moved; each row names its realm).
select l.*, c.snapshot ->> 'legal_name' as legal_name
  from customer_links l
  left join customers c using (account_id, customer_id)
 where l.account_id = %(account_id)s
 order by l.customer_id
 limit %(limit)s;

-- name: linked_qbo_customer_ids
select qbo_customer_id from customer_links
 where account_id = %(account_id)s and realm_id = %(realm_id)s;

-- name: customer_import_record
insert into customer_imports (account_id, realm_id, scanned, imported, skipped, rejected,
                              report_csv, report_json)
values (%(account_id)s, %(realm_id)s, %(scanned)s, %(imported)s, %(skipped)s, %(rejected)s,
        %(report_csv)s, %(report_json)s)
returning *;
