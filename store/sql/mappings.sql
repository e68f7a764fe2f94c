-- Product → QBO Item and tax category → QBO TaxCode mappings (migration 0003), keyed by realm
-- (migration 0010): an item or tax code id means something only in its own QBO company.

-- name: product_mapping_upsert
insert into product_mappings (account_id, product_id, realm_id, qbo_item_id, item_name, origin)
values (%(account_id)s, %(product_id)s, %(realm_id)s, %(qbo_item_id)s, %(item_name)s, %(origin)s)
on conflict (account_id, realm_id, product_id) do update
   set qbo_item_id = excluded.qbo_item_id, item_name = excluded.item_name,
       origin = excluded.origin, updated_at = now()
returning *;

-- name: product_mapping_get
select * from product_mappings
 where account_id = %(account_id)s and realm_id = %(realm_id)s
   and product_id = %(product_id)s;

-- name: product_mapping_list
-- The operator's list: the account's live mappings (another company's were archived when the
-- account moved; each row names its realm).
select * from product_mappings where account_id = %(account_id)s order by product_id, realm_id;

-- name: tax_mapping_upsert
insert into tax_mappings (account_id, tax_category_id, realm_id, qbo_tax_code_id)
values (%(account_id)s, %(tax_category_id)s, %(realm_id)s, %(qbo_tax_code_id)s)
on conflict (account_id, realm_id, tax_category_id) do update
   set qbo_tax_code_id = excluded.qbo_tax_code_id, updated_at = now()
returning *;

-- name: tax_mapping_delete
delete from tax_mappings
 where account_id = %(account_id)s and tax_category_id = %(tax_category_id)s;

-- name: tax_mapping_list
-- As product_mapping_list: what the operator sees, not what a sync reads.
select * from tax_mappings where account_id = %(account_id)s order by tax_category_id, realm_id;
