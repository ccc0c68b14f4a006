-- Contributors may close their own account (status 'closed', issue 16 item 19), and the
-- eligibility rule judges work at the time it was done: work_blocked_since is when the
-- account entered the run of statuses that bar new work (rejected, suspended, removed,
-- disabled, closed) it is still in; NULL while the status allows work (issue 15).
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt (metadata.toml).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    full_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('registered', 'email_verified', 'authorization_pending',
        'authorization_verified', 'active', 'rejected', 'suspended', 'removed', 'staff', 'disabled', 'closed')),
    email_verified_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    status_reason TEXT,
    status_until TIMESTAMP,
    work_blocked_since TIMESTAMP
);
INSERT INTO users_new (id, email, password_hash, full_name, status, email_verified_at, created_at, updated_at,
    status_reason, status_until, work_blocked_since)
SELECT id, email, password_hash, full_name, status, email_verified_at, created_at, updated_at,
    status_reason, status_until,
    CASE WHEN status IN ('rejected', 'suspended', 'removed', 'disabled') THEN updated_at END FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
COMMIT;
PRAGMA foreign_keys = ON;
