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

-- name: context_for_document
-- All of the above for one document in one statement (the claim's round trip): the link and
-- the settings as JSON objects (null when there is none), the mappings of the document's
-- products and tax categories as {sequence id: QBO id}, and whether a create intent exists
-- (an earlier attempt may have created the document in QBO: migration 0007).
select (select jsonb_build_object('qbo_customer_id', qbo_customer_id, 'currency', currency,
                                  'realm_id', realm_id)
          from customer_links
         where account_id = %(account_id)s and realm_id = %(realm_id)s
           and customer_id = %(customer_id)s) as link,
       (select jsonb_build_object('merchant_email', merchant_email,
                                  'txn_date_source', txn_date_source,
                                  'fallback_item_id', fallback_item_id,
                                  'fallback_tax_code_id', fallback_tax_code_id,
                                  'exempt_tax_code_id', exempt_tax_code_id,
                                  'reverse_charge_tax_code_id', reverse_charge_tax_code_id,
                                  'auto_create_customers', auto_create_customers)
          from account_settings
         where account_id = %(account_id)s) as settings,
       (select coalesce(jsonb_object_agg(product_id, qbo_item_id), '{}')
          from product_mappings
         where account_id = %(account_id)s and realm_id = %(realm_id)s
           and product_id = any(%(product_ids)s)) as item_mappings,
       (select coalesce(jsonb_object_agg(tax_category_id, qbo_tax_code_id), '{}')
          from tax_mappings
         where account_id = %(account_id)s and realm_id = %(realm_id)s
           and tax_category_id = any(%(category_ids)s)) as tax_mappings,
       exists (select from create_intents
                where account_id = %(account_id)s and document_type = %(document_type)s
                  and sequence_id = %(sequence_id)s) as intent;
