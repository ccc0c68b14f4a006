-- Reverses 2026-11-30-001301: audit_log rebuilt without the CHECKs.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT REFERENCES users(id),
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT,
    summary TEXT NOT NULL,
    request_id TEXT,
    ip TEXT
);
INSERT INTO audit_log_new (id, at, actor_id, action, subject_type, subject_id, summary, request_id, ip)
    SELECT id, at, actor_id, action, subject_type, subject_id, summary, request_id, ip FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_subject ON audit_log(subject_type, subject_id);
CREATE INDEX audit_log_actor ON audit_log(actor_id);
-- Append-only: the database refuses changes to past records.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
COMMIT;
PRAGMA foreign_keys = ON;
