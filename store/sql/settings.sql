-- Per-account settings (migration 0003 `account_settings`); absent row = defaults.

-- name: account_settings_get
select * from account_settings where account_id = %(account_id)s;

-- name: account_settings_upsert
-- Every column is written: the service merges the changes into the current values first.
insert into account_settings (account_id, merchant_email, txn_date_source, fallback_item_id,
                              fallback_tax_code_id, exempt_tax_code_id,
                              reverse_charge_tax_code_id, auto_create_customers)
values (%(account_id)s, %(merchant_email)s, %(txn_date_source)s, %(fallback_item_id)s,
        %(fallback_tax_code_id)s, %(exempt_tax_code_id)s, %(reverse_charge_tax_code_id)s,
        %(auto_create_customers)s)
on conflict (account_id) do update
   set merchant_email = excluded.merchant_email,
       txn_date_source = excluded.txn_date_source,
       fallback_item_id = excluded.fallback_item_id,
       fallback_tax_code_id = excluded.fallback_tax_code_id,
       exempt_tax_code_id = excluded.exempt_tax_code_id,
       reverse_charge_tax_code_id = excluded.reverse_charge_tax_code_id,
       auto_create_customers = excluded.auto_create_customers,
       updated_at = now()
returning *;
