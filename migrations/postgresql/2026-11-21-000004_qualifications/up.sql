-- Qualification tests (versioned), attempts, free-text review, qualifications and
-- project types (PostgreSQL). JSON documents are stored as TEXT.
CREATE TABLE qualification_tests (
    id BIGSERIAL PRIMARY KEY,
    domain TEXT NOT NULL CHECK (length(domain) BETWEEN 1 AND 100),
    tier TEXT NOT NULL CHECK (tier IN ('generalist', 'expert')),
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every edit of a test is a new row; attempts point at the version they started on.
CREATE TABLE test_versions (
    id BIGSERIAL PRIMARY KEY,
    test_id BIGINT NOT NULL REFERENCES qualification_tests(id),
    version INTEGER NOT NULL CHECK (version >= 1),
    time_limit_minutes INTEGER NOT NULL CHECK (time_limit_minutes BETWEEN 1 AND 1440),
    pass_mark_percent INTEGER NOT NULL CHECK (pass_mark_percent BETWEEN 1 AND 100),
    attempt_limit INTEGER NOT NULL CHECK (attempt_limit >= 1),
    cooldown_hours INTEGER NOT NULL CHECK (cooldown_hours >= 0),
    stipend_cents BIGINT CHECK (stipend_cents IS NULL OR stipend_cents >= 0),
    qualification_valid_days INTEGER CHECK (qualification_valid_days IS NULL OR qualification_valid_days >= 1),
    prerequisites TEXT NOT NULL,
    sections TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (test_id, version)
);

CREATE TABLE test_attempts (
    id BIGSERIAL PRIMARY KEY,
    test_id BIGINT NOT NULL REFERENCES qualification_tests(id),
    test_version_id BIGINT NOT NULL REFERENCES test_versions(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('in_progress', 'grading', 'passed', 'failed')),
    question_ids TEXT NOT NULL,
    answers TEXT NOT NULL,
    objective_scores TEXT,
    started_at TIMESTAMP NOT NULL,
    deadline_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    graded_at TIMESTAMP,
    points_awarded BIGINT,
    points_possible BIGINT,
    score_percent INTEGER CHECK (score_percent IS NULL OR score_percent BETWEEN 0 AND 100),
    passed BOOLEAN,
    feedback TEXT,
    stipend_cents BIGINT CHECK (stipend_cents IS NULL OR stipend_cents >= 0),
    CHECK (deadline_at > started_at)
);
CREATE INDEX test_attempts_user ON test_attempts(user_id, test_id);
CREATE INDEX test_attempts_open ON test_attempts(status, deadline_at);
-- One attempt in progress per person, across all tests.
CREATE UNIQUE INDEX test_attempts_one_open ON test_attempts(user_id) WHERE status = 'in_progress';

CREATE TABLE test_answer_reviews (
    id BIGSERIAL PRIMARY KEY,
    attempt_id BIGINT NOT NULL REFERENCES test_attempts(id),
    question_id TEXT NOT NULL,
    answer_text TEXT NOT NULL,
    max_points BIGINT NOT NULL CHECK (max_points > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'graded')),
    claimed_by BIGINT REFERENCES users(id),
    claim_expires_at TIMESTAMP,
    points_awarded BIGINT CHECK (points_awarded IS NULL OR (points_awarded >= 0 AND points_awarded <= max_points)),
    note TEXT,
    graded_by BIGINT REFERENCES users(id),
    graded_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (attempt_id, question_id),
    CHECK (status = 'pending' OR (points_awarded IS NOT NULL AND graded_by IS NOT NULL))
);
CREATE INDEX test_answer_reviews_queue ON test_answer_reviews(status, id);

CREATE TABLE qualifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    domain TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('generalist', 'expert')),
    source TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    revoke_reason TEXT,
    -- Earned once per source (one attempt grants at most one qualification).
    UNIQUE (user_id, source),
    CHECK (revoked_at IS NULL OR revoke_reason IS NOT NULL)
);
CREATE INDEX qualifications_user ON qualifications(user_id, domain, tier);

CREATE TABLE project_types (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    required_qualifications TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
