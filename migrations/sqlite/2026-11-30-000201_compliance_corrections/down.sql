-- Reverses 2026-11-30-000201: the old CHECK constraints come back (rows they refuse,
-- e.g. an ITIN or an attestation without a date, make the down migration fail).
DROP TABLE payout_change_notices;
ALTER TABLE payout_items DROP COLUMN returned_at;
ALTER TABLE payout_items DROP COLUMN return_code;
ALTER TABLE files DROP COLUMN deleted_at;
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
    CHECK ((category = 'noncitizen_authorized') = (expires_on IS NOT NULL))
);
INSERT INTO work_authorizations_new (id, user_id, category, expires_on, residence_country, reverification,
    status, attested_at, submitted_at, claimed_by, claim_expires_at, decided_by, decided_at)
SELECT id, user_id, category, expires_on, residence_country, reverification, status, attested_at,
    submitted_at, claimed_by, claim_expires_at, decided_by, decided_at
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
    created_at TIMESTAMP NOT NULL
);
INSERT INTO work_authorization_documents (id, work_authorization_id, list, document_type, number_enc,
    expires_on, file_id, created_at)
SELECT id, work_authorization_id, list, document_type, number_enc, expires_on, file_id, created_at
FROM wa_documents_copy;
DROP TABLE wa_documents_copy;
CREATE INDEX work_authorization_documents_wa ON work_authorization_documents(work_authorization_id);

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
    tin_type TEXT NOT NULL CHECK (tin_type IN ('ssn', 'ein')),
    tin_enc TEXT NOT NULL,
    tin_last4 TEXT NOT NULL,
    subject_to_backup_withholding BOOLEAN NOT NULL,
    signature_name TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    signed_ip TEXT,
    created_at TIMESTAMP NOT NULL,
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

