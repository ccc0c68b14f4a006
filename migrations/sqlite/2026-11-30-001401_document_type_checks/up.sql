-- An I-9 document's type is a closed set per list (issue 17): `DocumentType` and the
-- lists LIST_A, LIST_B, LIST_C in src/onboarding/documents.rs (Form I-9, edition
-- 01/20/25). The CHECK holds the pair (list, type), so a read never meets a type the
-- enum cannot name, nor a List B type filed under List A.
-- SQLite cannot add a CHECK to a table: the table is rebuilt (metadata.toml) with its
-- index (it has no triggers).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE work_authorization_documents_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_authorization_id BIGINT NOT NULL REFERENCES work_authorizations(id),
    list TEXT NOT NULL CHECK (list IN ('A', 'B', 'C')),
    document_type TEXT NOT NULL,
    number_enc TEXT,
    expires_on DATE,
    file_id BIGINT NOT NULL UNIQUE REFERENCES files(id),
    created_at TIMESTAMP NOT NULL,
    purged_at TIMESTAMP CHECK (purged_at IS NULL OR number_enc IS NULL),
    CHECK (
        (list = 'A' AND document_type IN (
            'us_passport', 'us_passport_card', 'permanent_resident_card',
            'foreign_passport_with_temporary_i551', 'employment_authorization_document',
            'foreign_passport_with_i94', 'fsm_or_rmi_passport_with_i94'))
        OR (list = 'B' AND document_type IN (
            'drivers_license', 'state_id_card', 'school_id_card',
            'voter_registration_card', 'us_military_card', 'military_dependent_id_card',
            'merchant_mariner_card', 'native_american_tribal_document',
            'canadian_drivers_license', 'school_record_minor', 'medical_record_minor',
            'day_care_record_minor'))
        OR (list = 'C' AND document_type IN (
            'social_security_card', 'certification_of_report_of_birth_abroad',
            'birth_certificate', 'native_american_tribal_document', 'us_citizen_id_card',
            'resident_citizen_id_card', 'dhs_employment_authorization_document')))
);
INSERT INTO work_authorization_documents_new
    (id, work_authorization_id, list, document_type, number_enc, expires_on, file_id, created_at, purged_at)
    SELECT id, work_authorization_id, list, document_type, number_enc, expires_on, file_id, created_at, purged_at
    FROM work_authorization_documents;
DROP TABLE work_authorization_documents;
ALTER TABLE work_authorization_documents_new RENAME TO work_authorization_documents;
CREATE INDEX work_authorization_documents_wa ON work_authorization_documents(work_authorization_id);
COMMIT;
PRAGMA foreign_keys = ON;
