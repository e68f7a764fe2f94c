-- What a document sync reads about its account before building a QBO payload. Everything that
-- names a QBO object is read for the realm the sync's client is bound to (migration 0010).

-- name: context_link
select qbo_customer_id, currency, realm_id
  from customer_links
 where account_id = %(account_id)s and realm_id = %(realm_id)s
   and customer_id = %(customer_id)s;

-- name: context_settings
select merchant_email, txn_date_source, fallback_item_id, fallback_tax_code_id,
       exempt_tax_code_id, reverse_charge_tax_code_id, auto_create_customers
  from account_settings
 where account_id = %(account_id)s;

-- name: context_item_mappings
select product_id, qbo_item_id
  from product_mappings
 where account_id = %(account_id)s and realm_id = %(realm_id)s
   and product_id = any(%(product_ids)s);

-- name: context_tax_mappings
select tax_category_id, qbo_tax_code_id
  from tax_mappings
 where account_id = %(account_id)s and realm_id = %(realm_id)s
   and tax_category_id = any(%(category_ids)s);
