-- Reverses 2026-11-30-000201 (rows the old constraints refuse make it fail).
DROP TABLE payout_change_notices;
ALTER TABLE payout_items DROP COLUMN returned_at;
ALTER TABLE payout_items DROP COLUMN return_code;
ALTER TABLE tax_profiles DROP COLUMN exempt_payee_code;
ALTER TABLE tax_profiles DROP CONSTRAINT tax_profiles_tin_type_check;
ALTER TABLE tax_profiles ADD CONSTRAINT tax_profiles_tin_type_check CHECK (tin_type IN ('ssn', 'ein'));
ALTER TABLE files DROP COLUMN deleted_at;
ALTER TABLE work_authorization_documents DROP COLUMN purged_at;
ALTER TABLE work_authorizations DROP COLUMN reverify_on;
ALTER TABLE work_authorizations DROP CONSTRAINT work_authorizations_expiry_check;
ALTER TABLE work_authorizations ADD CONSTRAINT work_authorizations_check
    CHECK ((category = 'noncitizen_authorized') = (expires_on IS NOT NULL));
