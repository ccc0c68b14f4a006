-- Credentials (degrees, transcripts, certifications, licenses), their review, and
-- two-person removal for confirmed false credentials.
CREATE TABLE credentials (
    id BIGSERIAL PRIMARY KEY,
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
    reason_code TEXT,
    note TEXT,
    -- Degrees carry a level; other kinds do not.
    CHECK ((kind = 'degree') = (level IS NOT NULL))
);
CREATE INDEX credentials_user ON credentials(user_id);
CREATE INDEX credentials_queue ON credentials(status, submitted_at);

CREATE TABLE removal_proposals (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    credential_id BIGINT REFERENCES credentials(id),
    reason_code TEXT NOT NULL,
    note TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'confirmed', 'withdrawn')),
    proposed_by BIGINT NOT NULL REFERENCES users(id),
    proposed_at TIMESTAMP NOT NULL,
    confirmed_by BIGINT REFERENCES users(id),
    confirmed_at TIMESTAMP,
    -- The second sign-off is by someone else.
    CHECK (confirmed_by IS NULL OR confirmed_by <> proposed_by)
);
CREATE INDEX removal_proposals_user ON removal_proposals(user_id);

-- Admin-configured: a verified credential of this kind, level and domain grants a
-- qualification (and so opens the project types that require it).
CREATE TABLE credential_rules (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('degree', 'transcript', 'certification', 'professional_license')),
    level TEXT CHECK (level IN ('bachelor', 'master', 'doctorate', 'professional')),
    domain TEXT NOT NULL,
    grants_domain TEXT NOT NULL,
    grants_tier TEXT NOT NULL CHECK (grants_tier IN ('generalist', 'expert')),
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
