-- The audit log's action and subject type are closed sets (issue 17): `AuditAction` and
-- `AuditSubject` in src/audit/model.rs. The CHECKs hold the columns to them, so a read
-- never meets a value the enums cannot name; adding an action means adding it here in a
-- new migration as well.
-- SQLite cannot add a CHECK to a table: audit_log is rebuilt (metadata.toml), with its
-- indexes and append-only triggers; DROP TABLE fires no DELETE trigger.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TIMESTAMP NOT NULL,
    actor_id BIGINT REFERENCES users(id),
    action TEXT NOT NULL CHECK (action IN (
        'auth.email_verified', 'auth.login', 'auth.login_failed', 'auth.logout',
        'auth.password_changed', 'auth.password_reset_requested', 'auth.password_set',
        'auth.refresh_token_reuse', 'auth.registered', 'console.sign_in',
        'console.sign_in_refused', 'console.sign_out', 'contributor.status_changed',
        'credential.claimed', 'credential.decided', 'credential.lapsed', 'credential.uploaded',
        'credential_rule.created', 'file.downloaded', 'jobs.run', 'ledger.adjustment_approved',
        'ledger.adjustment_requested', 'ledger.posted', 'outbox.retry', 'payout_batch.approved',
        'payout_batch.built', 'payout_batch.cancelled', 'payout_batch.export_downloaded',
        'payout_batch.exported', 'payout_batch.settled', 'payout_item.change_notice',
        'payout_item.settled', 'payout_method.added', 'payout_method.corrected',
        'payout_release.approved', 'payout_release.requested', 'profile.updated',
        'project_type.created', 'qualification.granted', 'qualification.revoked',
        'quality.level_changed', 'removal.confirmed', 'removal.proposed', 'settings.updated',
        'staff.admin_bootstrapped', 'staff.created', 'staff.disabled', 'staff.enabled',
        'staff.invitation_resent', 'staff.roles_changed', 'standing.move_applied',
        'standing.move_proposed', 'standing_move.appealed', 'standing_move.claimed',
        'standing_move.decided', 'tax.b_notice_cleared', 'tax.b_notice_recorded',
        'tax.filing_exported', 'tax.form_corrected', 'tax.form_issued', 'tax.threshold_assumed',
        'tax.threshold_set', 'tax_profile.signed', 'test.created', 'test.retired',
        'test.versioned', 'test_answer.claimed', 'test_answer.graded', 'work_appeal.claimed',
        'work_appeal.decided', 'work_authorization.attested', 'work_authorization.claimed',
        'work_authorization.decided', 'work_authorization.documents_purged',
        'work_authorization.documents_submitted', 'work_record.appealed',
        'work_record.auto_approved', 'work_record.claimed', 'work_record.decided',
        'work_records.ingested')),
    subject_type TEXT NOT NULL CHECK (subject_type IN (
        'account', 'credential', 'credential_rule', 'file', 'jobs', 'ledger_adjustment',
        'ledger_transaction', 'outbox', 'payout_batch', 'payout_item', 'payout_method',
        'project_type', 'qualification_test', 'quality_standing', 'settings', 'standing_move',
        'standing_move_appeal', 'tax_form', 'tax_profile', 'tax_threshold', 'tax_year',
        'test_answer', 'user', 'work_appeal', 'work_authorization', 'work_record', 'work_records')),
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
