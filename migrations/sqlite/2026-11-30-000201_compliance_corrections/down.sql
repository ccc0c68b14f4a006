-- Reverses 2026-11-30-000201: the old CHECK constraints come back (rows they refuse,
-- e.g. an ITIN or an attestation without a date, would then break them: delete or fix
-- those first).
DROP TABLE payout_change_notices;
ALTER TABLE payout_items DROP COLUMN returned_at;
ALTER TABLE payout_items DROP COLUMN return_code;
ALTER TABLE files DROP COLUMN deleted_at;

PRAGMA writable_schema = ON;
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK (category = ''noncitizen_authorized'' OR expires_on IS NULL)',
    'CHECK ((category = ''noncitizen_authorized'') = (expires_on IS NOT NULL))')
WHERE type = 'table' AND name = 'work_authorizations';
UPDATE sqlite_master
SET sql = replace(sql, 'tin_type IN (''ssn'', ''itin'', ''ein'')', 'tin_type IN (''ssn'', ''ein'')')
WHERE type = 'table' AND name = 'tax_profiles';
PRAGMA writable_schema = OFF;

-- Each DROP COLUMN below bumps the schema version, so the edits above take effect.
ALTER TABLE tax_profiles DROP COLUMN exempt_payee_code;
ALTER TABLE work_authorization_documents DROP COLUMN purged_at;
ALTER TABLE work_authorizations DROP COLUMN reverify_on;
