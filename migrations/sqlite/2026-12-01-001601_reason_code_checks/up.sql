-- A credential's reason code and a removal proposal's are closed sets (issue 17):
-- `CredentialReason` (the reviewer's reasons, plus the system's `confirmed_false` when a
-- removal for a false credential is confirmed) and `RemovalReason` in
-- src/credentials/model.rs. A read never meets a value the enum cannot name.
-- SQLite cannot add a CHECK to a table: both tables are rebuilt (metadata.toml) with
-- their indexes (they have no triggers; `replaces_id` and `removal_proposals` name
-- `credentials`, which the renamed table answers to again).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE credentials_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('degree', 'transcript', 'certification', 'professional_license')),
    level TEXT CHECK (level IN ('bachelor', 'master', 'doctorate', 'professional')),
    domain TEXT NOT NULL,
    title TEXT NOT NULL,
    issuer TEXT NOT NULL,
    issued_on DATE,
    expires_on DATE,
    file_id BIGINT NOT NULL UNIQUE REFERENCES files(id),
    status TEXT NOT NULL CHECK (status IN ('pending_review', 'verified', 'rejected',
        'more_info_requested', 'superseded', 'lapsed')),
    flagged BOOLEAN NOT NULL,
    flag_reason TEXT,
    replaces_id BIGINT REFERENCES credentials(id),
    submitted_at TIMESTAMP NOT NULL,
    claimed_by BIGINT REFERENCES users(id),
    claim_expires_at TIMESTAMP,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    reason_code TEXT CHECK (reason_code IN ('credential_verified', 'not_verifiable',
        'issuer_not_recognized', 'information_mismatch', 'expired', 'suspected_fraud',
        'document_unreadable', 'document_incomplete', 'missing_pages', 'other', 'confirmed_false')),
    note TEXT,
    -- Degrees carry a level; other kinds do not.
    CHECK ((kind = 'degree') = (level IS NOT NULL))
);
INSERT INTO credentials_new (id, user_id, kind, level, domain, title, issuer, issued_on, expires_on, file_id, status, flagged, flag_reason, replaces_id, submitted_at, claimed_by, claim_expires_at, decided_by, decided_at, reason_code, note)
    SELECT id, user_id, kind, level, domain, title, issuer, issued_on, expires_on, file_id, status, flagged, flag_reason, replaces_id, submitted_at, claimed_by, claim_expires_at, decided_by, decided_at, reason_code, note
    FROM credentials;
DROP TABLE credentials;
ALTER TABLE credentials_new RENAME TO credentials;
CREATE INDEX credentials_user ON credentials(user_id);
CREATE INDEX credentials_queue ON credentials(status, submitted_at);
CREATE TABLE removal_proposals_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    credential_id BIGINT REFERENCES credentials(id),
    reason_code TEXT NOT NULL CHECK (reason_code IN ('false_credential')),
    note TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'confirmed', 'withdrawn')),
    proposed_by BIGINT NOT NULL REFERENCES users(id),
    proposed_at TIMESTAMP NOT NULL,
    confirmed_by BIGINT REFERENCES users(id),
    confirmed_at TIMESTAMP,
    -- The second sign-off is by someone else.
    CHECK (confirmed_by IS NULL OR confirmed_by <> proposed_by)
);
INSERT INTO removal_proposals_new (id, user_id, credential_id, reason_code, note, status, proposed_by, proposed_at, confirmed_by, confirmed_at)
    SELECT id, user_id, credential_id, reason_code, note, status, proposed_by, proposed_at, confirmed_by, confirmed_at
    FROM removal_proposals;
DROP TABLE removal_proposals;
ALTER TABLE removal_proposals_new RENAME TO removal_proposals;
CREATE INDEX removal_proposals_user ON removal_proposals(user_id);
COMMIT;
PRAGMA foreign_keys = ON;
