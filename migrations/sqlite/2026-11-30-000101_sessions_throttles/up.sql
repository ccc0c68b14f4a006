-- One row per sign-in (a refresh-token family). Access tokens name their session
-- (`sid`), and every API request looks it up with the account's current status and
-- roles, so logout, a password change or a removal ends access at once (issue 15).
CREATE TABLE auth_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    family TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    refreshed_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX auth_sessions_user ON auth_sessions(user_id);
INSERT INTO auth_sessions (user_id, family, created_at, refreshed_at, revoked_at)
SELECT user_id, family, MIN(created_at), MAX(created_at),
    CASE WHEN COUNT(revoked_at) = COUNT(*) THEN MAX(revoked_at) END
FROM refresh_tokens GROUP BY user_id, family;

-- A new link, or a completed one, revokes the earlier links of the same kind.
ALTER TABLE email_tokens ADD COLUMN revoked_at TIMESTAMP;

-- Throttles kept in the database so they hold across instances: one row per counted
-- event (a failed sign-in, a success from an address, an emailed link), counted over a
-- sliding window and purged by the jobs. Subjects are an IP, a SHA-256 of an email
-- address, or both joined by '|'.
CREATE TABLE auth_throttle (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL CHECK (scope IN ('login_failure_account_ip', 'login_failure_ip',
        'login_failure_account', 'login_success_account_ip', 'password_reset_address',
        'password_reset_ip', 'verify_email_address', 'verify_email_ip')),
    subject TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_throttle_lookup ON auth_throttle(scope, subject, occurred_at);
CREATE INDEX auth_throttle_age ON auth_throttle(occurred_at);
