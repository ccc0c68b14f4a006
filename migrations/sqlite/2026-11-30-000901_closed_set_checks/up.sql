-- Closed sets stored as text get a CHECK where they had none (issue 17): the column
-- holds only what its enum (`text_enum!`, src/db/text_enum.rs) can read, so a read never
-- meets an unknown value, and one written by hand is refused. SQLite cannot add a CHECK
-- to a table, so the three tables are rebuilt (metadata.toml); a row that breaks a new
-- CHECK fails the INSERT that copies it, and the migration with it.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE files_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id BIGINT NOT NULL REFERENCES users(id),
    storage_key TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size_bytes BIGINT NOT NULL CHECK (size_bytes > 0),
    purpose TEXT NOT NULL CHECK (purpose IN ('work_authorization', 'credential')),
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);
INSERT INTO files_new (id, owner_id, storage_key, sha256, content_type, size_bytes, purpose, created_at, deleted_at) SELECT id, owner_id, storage_key, sha256, content_type, size_bytes, purpose, created_at, deleted_at FROM files;
DROP TABLE files;
ALTER TABLE files_new RENAME TO files;
CREATE INDEX files_owner ON files(owner_id);
CREATE INDEX files_sha256 ON files(sha256);

CREATE TABLE decisions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    subject_type TEXT NOT NULL CHECK (subject_type IN ('work_authorization', 'credential', 'account', 'work_record',
        'work_appeal', 'quality_standing', 'standing_move', 'standing_move_appeal')),
    subject_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('verified', 'rejected', 'more_info_requested', 'lapsed', 'removed',
        'closed', 'suspended', 'earnings_released', 'approved', 'upheld', 'overturned', 'warning', 'retraining',
        'suspension', 'promotion', 'demotion')),
    reason_code TEXT NOT NULL,
    note TEXT NOT NULL,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP NOT NULL
);
INSERT INTO decisions_new (id, user_id, subject_type, subject_id, outcome, reason_code, note, decided_by, decided_at) SELECT id, user_id, subject_type, subject_id, outcome, reason_code, note, decided_by, decided_at FROM decisions;
DROP TABLE decisions;
ALTER TABLE decisions_new RENAME TO decisions;
CREATE INDEX decisions_user ON decisions(user_id, decided_at);

CREATE TABLE standing_moves_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    domain TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('promotion', 'demotion')),
    from_tier TEXT NOT NULL CHECK (from_tier IN ('entry', 'standard', 'advanced')),
    to_tier TEXT NOT NULL CHECK (to_tier IN ('entry', 'standard', 'advanced')),
    reason_code TEXT NOT NULL CHECK (reason_code IN ('sustained_high_quality', 'low_gold_accuracy',
        'low_consensus_agreement', 'high_rejection_share')),
    figures TEXT NOT NULL,
    note TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'dismissed', 'applied', 'appealed', 'upheld', 'overturned')),
    proposed_at TIMESTAMP NOT NULL,
    reviewed_by BIGINT REFERENCES users(id),
    reviewed_at TIMESTAMP,
    review_note TEXT,
    effective_at TIMESTAMP,
    appeal_deadline TIMESTAMP,
    appeal_message TEXT,
    appealed_at TIMESTAMP,
    claimed_by BIGINT REFERENCES users(id),
    claim_expires_at TIMESTAMP,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    decision_reason_code TEXT,
    decision_note TEXT,
    CHECK (from_tier <> to_tier),
    CHECK ((status IN ('proposed', 'dismissed')) = (effective_at IS NULL)),
    CHECK (status NOT IN ('appealed', 'upheld', 'overturned') OR appealed_at IS NOT NULL),
    CHECK (status NOT IN ('upheld', 'overturned') OR decided_at IS NOT NULL)
);
INSERT INTO standing_moves_new (id, user_id, domain, direction, from_tier, to_tier, reason_code, figures, note, status, proposed_at,
    reviewed_by, reviewed_at, review_note, effective_at, appeal_deadline, appeal_message, appealed_at, claimed_by,
    claim_expires_at, decided_by, decided_at, decision_reason_code, decision_note)
SELECT id, user_id, domain, direction, from_tier, to_tier, reason_code, figures, note, status, proposed_at,
    reviewed_by, reviewed_at, review_note, effective_at, appeal_deadline, appeal_message, appealed_at, claimed_by,
    claim_expires_at, decided_by, decided_at, decision_reason_code, decision_note FROM standing_moves;
DROP TABLE standing_moves;
ALTER TABLE standing_moves_new RENAME TO standing_moves;
CREATE INDEX standing_moves_user ON standing_moves(user_id, domain, id);
CREATE INDEX standing_moves_status ON standing_moves(status, id);
CREATE UNIQUE INDEX standing_moves_one_proposal ON standing_moves(user_id, domain) WHERE status = 'proposed';
-- Every reference into the rebuilt tables still resolves (the migration fails otherwise).
CREATE TEMP TABLE rebuilt_references (dangling INTEGER NOT NULL CHECK (dangling = 0));
INSERT INTO rebuilt_references SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE rebuilt_references;
COMMIT;
PRAGMA foreign_keys = ON;
