-- Compliance corrections (issue 16). SQLite cannot change a CHECK constraint in place,
-- so the two tables whose CHECK changes are rebuilt; their child tables are copied
-- aside and recreated first, so no foreign key ever points at a missing row.

-- Work authorizations: "noncitizen authorized to work" may have no expiration date
-- ("N/A": refugees, asylees, some FSM/RMI citizens; Form I-9 Section 1, "exp. date,
-- if any"). `reverify_on` is when reverification is due: the earliest of the attested
-- date and the expiry of a List A or List C document that is reverified (M-274 6.1).
-- Documents gain `purged_at`: the retention job deletes the file and the number and
-- keeps the fact.
CREATE TABLE wa_documents_copy AS SELECT * FROM work_authorization_documents;
DROP TABLE work_authorization_documents;

CREATE TABLE work_authorizations_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    category TEXT NOT NULL CHECK (category IN ('us_citizen', 'noncitizen_national',
        'lawful_permanent_resident', 'noncitizen_authorized')),
    expires_on DATE,
    residence_country TEXT NOT NULL CHECK (residence_country = 'US'),
    reverification BOOLEAN NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('attested', 'pending_review', 'more_info_requested',
        'verified', 'rejected', 'superseded')),
    attested_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    claimed_by BIGINT REFERENCES users(id),
    claim_expires_at TIMESTAMP,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    reverify_on DATE,
    -- Only "noncitizen authorized to work" may carry an expiration date.
    CHECK (category = 'noncitizen_authorized' OR expires_on IS NULL),
    -- Citizens and noncitizen nationals are never reverified.
    CHECK (category NOT IN ('us_citizen', 'noncitizen_national') OR reverify_on IS NULL)
);
INSERT INTO work_authorizations_new (id, user_id, category, expires_on, residence_country, reverification,
    status, attested_at, submitted_at, claimed_by, claim_expires_at, decided_by, decided_at, reverify_on)
SELECT id, user_id, category, expires_on, residence_country, reverification, status, attested_at,
    submitted_at, claimed_by, claim_expires_at, decided_by, decided_at, expires_on
FROM work_authorizations;
DROP TABLE work_authorizations;
ALTER TABLE work_authorizations_new RENAME TO work_authorizations;
CREATE INDEX work_authorizations_user ON work_authorizations(user_id);
CREATE INDEX work_authorizations_queue ON work_authorizations(status, submitted_at);

CREATE TABLE work_authorization_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_authorization_id BIGINT NOT NULL REFERENCES work_authorizations(id),
    list TEXT NOT NULL CHECK (list IN ('A', 'B', 'C')),
    document_type TEXT NOT NULL,
    number_enc TEXT,
    expires_on DATE,
    file_id BIGINT NOT NULL UNIQUE REFERENCES files(id),
    created_at TIMESTAMP NOT NULL,
    purged_at TIMESTAMP,
    CHECK (purged_at IS NULL OR number_enc IS NULL)
);
INSERT INTO work_authorization_documents (id, work_authorization_id, list, document_type, number_enc,
    expires_on, file_id, created_at)
SELECT id, work_authorization_id, list, document_type, number_enc, expires_on, file_id, created_at
FROM wa_documents_copy;
DROP TABLE wa_documents_copy;
CREATE INDEX work_authorization_documents_wa ON work_authorization_documents(work_authorization_id);

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

-- W-9: ITINs go in the SSN box of Form W-9 and are recorded as `itin`; the exempt
-- payee code of line 4 (W-9 instructions, codes 1 to 13).
CREATE TABLE tax_forms_copy AS SELECT * FROM tax_forms;
DROP TABLE tax_forms;

CREATE TABLE tax_profiles_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    version INTEGER NOT NULL,
    legal_name TEXT NOT NULL,
    business_name TEXT,
    tax_classification TEXT NOT NULL CHECK (tax_classification IN ('individual', 'c_corporation',
        's_corporation', 'partnership', 'trust_estate', 'llc_c', 'llc_s', 'llc_p', 'other')),
    address_line1 TEXT NOT NULL,
    address_line2 TEXT,
    city TEXT NOT NULL,
    region TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    tin_type TEXT NOT NULL CHECK (tin_type IN ('ssn', 'itin', 'ein')),
    tin_enc TEXT NOT NULL,
    tin_last4 TEXT NOT NULL,
    subject_to_backup_withholding BOOLEAN NOT NULL,
    signature_name TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    signed_ip TEXT,
    created_at TIMESTAMP NOT NULL,
    exempt_payee_code TEXT CHECK (exempt_payee_code IS NULL OR exempt_payee_code IN
        ('1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13')),
    UNIQUE (user_id, version)
);
INSERT INTO tax_profiles_new (id, user_id, version, legal_name, business_name, tax_classification,
    address_line1, address_line2, city, region, postal_code, tin_type, tin_enc, tin_last4,
    subject_to_backup_withholding, signature_name, signed_at, signed_ip, created_at)
SELECT id, user_id, version, legal_name, business_name, tax_classification, address_line1, address_line2,
    city, region, postal_code, tin_type, tin_enc, tin_last4, subject_to_backup_withholding, signature_name,
    signed_at, signed_ip, created_at
FROM tax_profiles;
DROP TABLE tax_profiles;
ALTER TABLE tax_profiles_new RENAME TO tax_profiles;

CREATE TABLE tax_forms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    tax_year BIGINT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    corrected BOOLEAN NOT NULL,
    reportable_cents BIGINT NOT NULL CHECK (reportable_cents >= 0),
    excluded_cents BIGINT NOT NULL CHECK (excluded_cents >= 0),
    federal_withheld_cents BIGINT NOT NULL CHECK (federal_withheld_cents >= 0),
    state TEXT,
    tax_profile_id BIGINT REFERENCES tax_profiles(id),
    issued_at TIMESTAMP NOT NULL,
    issued_by BIGINT REFERENCES users(id),
    UNIQUE (user_id, tax_year, version),
    CHECK (corrected = (version > 1))
);
INSERT INTO tax_forms (id, user_id, tax_year, version, corrected, reportable_cents, excluded_cents,
    federal_withheld_cents, state, tax_profile_id, issued_at, issued_by)
SELECT id, user_id, tax_year, version, corrected, reportable_cents, excluded_cents, federal_withheld_cents,
    state, tax_profile_id, issued_at, issued_by
FROM tax_forms_copy;
DROP TABLE tax_forms_copy;
CREATE INDEX tax_forms_year ON tax_forms(tax_year, user_id);

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
