-- Contributor profiles, files, US work authorization, decisions.
ALTER TABLE users ADD COLUMN status_reason TEXT;
ALTER TABLE users ADD COLUMN status_until TIMESTAMP;

CREATE TABLE contributor_profiles (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    legal_name TEXT,
    date_of_birth_enc TEXT,
    address_line1 TEXT,
    address_line2 TEXT,
    city TEXT,
    region TEXT,
    postal_code TEXT,
    country TEXT,
    phone TEXT,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE files (
    id BIGSERIAL PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    storage_key TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    purpose TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX files_owner ON files(owner_id);
CREATE INDEX files_sha256 ON files(sha256);

CREATE TABLE work_authorizations (
    id BIGSERIAL PRIMARY KEY,
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
    -- Only "noncitizen authorized to work" carries an expiration date (Form I-9).
    CHECK ((category = 'noncitizen_authorized') = (expires_on IS NOT NULL))
);
CREATE INDEX work_authorizations_user ON work_authorizations(user_id);
CREATE INDEX work_authorizations_queue ON work_authorizations(status, submitted_at);

CREATE TABLE work_authorization_documents (
    id BIGSERIAL PRIMARY KEY,
    work_authorization_id BIGINT NOT NULL REFERENCES work_authorizations(id),
    list TEXT NOT NULL CHECK (list IN ('A', 'B', 'C')),
    document_type TEXT NOT NULL,
    number_enc TEXT,
    expires_on DATE,
    file_id BIGINT NOT NULL UNIQUE REFERENCES files(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX work_authorization_documents_wa ON work_authorization_documents(work_authorization_id);

CREATE TABLE decisions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    note TEXT NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP NOT NULL
);
CREATE INDEX decisions_user ON decisions(user_id, decided_at);
