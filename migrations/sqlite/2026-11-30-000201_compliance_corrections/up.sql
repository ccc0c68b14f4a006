-- Compliance corrections (issue 16).
--
-- SQLite cannot alter a CHECK constraint in place. Two CHECKs are loosened here
-- (never tightened: every existing row satisfies the new one), with SQLite's documented
-- procedure for removing or changing a CHECK ("ALTER TABLE", section "Making Other
-- Kinds Of Table Schema Changes"): the table's CREATE statement is edited in
-- sqlite_master under writable_schema, and the ALTER TABLE ... ADD COLUMN that follows
-- on the same table bumps the schema version so every connection reloads it. Unlike a
-- rebuild of the table, this keeps every column other migrations added to it.
PRAGMA writable_schema = ON;

-- Work authorizations: "noncitizen authorized to work" may have no expiration date
-- ("N/A": refugees, asylees, some FSM/RMI citizens; Form I-9 Section 1, "exp. date,
-- if any").
UPDATE sqlite_master
SET sql = replace(sql, 'CHECK ((category = ''noncitizen_authorized'') = (expires_on IS NOT NULL))',
    'CHECK (category = ''noncitizen_authorized'' OR expires_on IS NULL)')
WHERE type = 'table' AND name = 'work_authorizations';

-- W-9: ITINs go in the SSN box of Form W-9 and are recorded as `itin`.
UPDATE sqlite_master
SET sql = replace(sql, 'tin_type IN (''ssn'', ''ein'')', 'tin_type IN (''ssn'', ''itin'', ''ein'')')
WHERE type = 'table' AND name = 'tax_profiles';

PRAGMA writable_schema = OFF;

-- Both edits took (the migration fails here otherwise).
CREATE TEMP TABLE schema_edits (applied INTEGER NOT NULL CHECK (applied = 2));
INSERT INTO schema_edits SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND (
    (name = 'work_authorizations' AND sql LIKE '%CHECK (category = ''noncitizen_authorized'' OR expires_on IS NULL)%')
    OR (name = 'tax_profiles' AND sql LIKE '%tin_type IN (''ssn'', ''itin'', ''ein'')%'));
DROP TABLE schema_edits;

-- `reverify_on`: when reverification is due, the earliest of the attested date and the
-- expiry of a List A or List C document that is reverified (M-274 6.1); citizens and
-- noncitizen nationals are never reverified.
ALTER TABLE work_authorizations ADD COLUMN reverify_on DATE
    CHECK (reverify_on IS NULL OR category NOT IN ('us_citizen', 'noncitizen_national'));
UPDATE work_authorizations SET reverify_on = expires_on;

-- Documents gain `purged_at`: the retention job deletes the file and the number and
-- keeps the fact.
ALTER TABLE work_authorization_documents ADD COLUMN purged_at TIMESTAMP
    CHECK (purged_at IS NULL OR number_enc IS NULL);

-- Reverification follows the document too: the earliest expiry of a reverified List A
-- or List C document presented, for everyone but citizens and noncitizen nationals.
UPDATE work_authorizations SET reverify_on = (
    SELECT MIN(d.expires_on) FROM work_authorization_documents d
    WHERE d.work_authorization_id = work_authorizations.id AND d.expires_on IS NOT NULL
      AND ((d.list = 'A' AND d.document_type IN ('foreign_passport_with_temporary_i551',
            'employment_authorization_document', 'foreign_passport_with_i94', 'fsm_or_rmi_passport_with_i94'))
        OR (d.list = 'C' AND d.document_type = 'dhs_employment_authorization_document')))
WHERE category IN ('lawful_permanent_resident', 'noncitizen_authorized')
  AND EXISTS (
    SELECT 1 FROM work_authorization_documents d
    WHERE d.work_authorization_id = work_authorizations.id AND d.expires_on IS NOT NULL
      AND (work_authorizations.reverify_on IS NULL OR d.expires_on < work_authorizations.reverify_on)
      AND ((d.list = 'A' AND d.document_type IN ('foreign_passport_with_temporary_i551',
            'employment_authorization_document', 'foreign_passport_with_i94', 'fsm_or_rmi_passport_with_i94'))
        OR (d.list = 'C' AND d.document_type = 'dhs_employment_authorization_document')));

-- Files deleted by the I-9 retention job keep their row (hash, size, owner), not their bytes.
ALTER TABLE files ADD COLUMN deleted_at TIMESTAMP;

-- W-9 line 4: the exempt payee code (W-9 instructions, codes 1 to 13).
ALTER TABLE tax_profiles ADD COLUMN exempt_payee_code TEXT CHECK (exempt_payee_code IS NULL OR exempt_payee_code IN
    ('1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13'));

-- ACH return reason codes (NACHA Operating Rules, Appendix Four: the RDFI's return
-- codes R01 to R53) on failed and returned items; `returned_at` for a return that
-- arrives after the item was paid.
ALTER TABLE payout_items ADD COLUMN return_code TEXT CHECK (return_code IS NULL OR return_code IN (
        'R01', 'R02', 'R03', 'R04', 'R05', 'R06', 'R07', 'R08', 'R09', 'R10', 'R11', 'R12',
        'R13', 'R14', 'R15', 'R16', 'R17', 'R18', 'R19', 'R20', 'R21', 'R22', 'R23', 'R24',
        'R25', 'R26', 'R27', 'R28', 'R29', 'R30', 'R31', 'R32', 'R33', 'R34', 'R35', 'R36',
        'R37', 'R38', 'R39', 'R40', 'R41', 'R42', 'R43', 'R44', 'R45', 'R46', 'R47', 'R50',
        'R51', 'R52', 'R53'));
ALTER TABLE payout_items ADD COLUMN returned_at TIMESTAMP;

-- Notifications of change (NACHA Appendix Five: change codes C01 to C09, C13, C14)
-- received for a paid ACH item. The corrected data holds account numbers: encrypted.
CREATE TABLE payout_change_notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id BIGINT NOT NULL REFERENCES payout_items(id),
    change_code TEXT NOT NULL CHECK (change_code IN ('C01', 'C02', 'C03', 'C04', 'C05', 'C06', 'C07',
        'C08', 'C09', 'C13', 'C14')),
    corrected_enc TEXT NOT NULL,
    -- `applied`: a corrected method replaced the one paid; `recorded`: nothing in the
    -- method to correct; `method_replaced`: the contributor had changed method since.
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'recorded', 'method_replaced')),
    method_id BIGINT NOT NULL REFERENCES payout_methods(id),
    new_method_id BIGINT REFERENCES payout_methods(id),
    recorded_by BIGINT NOT NULL REFERENCES users(id),
    recorded_at TIMESTAMP NOT NULL,
    UNIQUE (item_id, change_code),
    CHECK ((outcome = 'applied') = (new_method_id IS NOT NULL))
);
