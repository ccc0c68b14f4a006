-- Browser sessions of the staff console (issue 10). The cookie carries a random token;
-- only its SHA-256 is stored. The CSRF token is per session and compared on every form.
CREATE TABLE console_sessions (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    CHECK (expires_at > created_at)
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);
