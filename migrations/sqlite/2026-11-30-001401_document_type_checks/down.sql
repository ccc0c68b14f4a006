-- Reverses 2026-11-30-001401_document_type_checks: the table rebuilt without the CHECK.
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
    purged_at TIMESTAMP CHECK (purged_at IS NULL OR number_enc IS NULL)
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
