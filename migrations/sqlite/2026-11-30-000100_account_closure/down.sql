PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE users_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    full_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('registered', 'email_verified', 'authorization_pending',
        'authorization_verified', 'active', 'rejected', 'suspended', 'removed', 'staff', 'disabled')),
    email_verified_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    status_reason TEXT,
    status_until TIMESTAMP
);
INSERT INTO users_new (id, email, password_hash, full_name, status, email_verified_at, created_at, updated_at,
    status_reason, status_until)
SELECT id, email, password_hash, full_name, CASE status WHEN 'closed' THEN 'removed' ELSE status END, email_verified_at, created_at, updated_at,
    status_reason, status_until FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
COMMIT;
PRAGMA foreign_keys = ON;
