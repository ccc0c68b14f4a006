-- Emails are rendered when they are sent (issue 23): a new outbox row holds its template
-- (a closed set: the CHECK issue 17 left out) and the template's parameters as JSON,
-- not its rendered subject and bodies. Rows queued before keep their rendering and are
-- sent as they are; each row has one or the other. SQLite cannot change a column's
-- nullability or add a CHECK to a table: the table is rebuilt (nothing references it).
CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_key TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    template TEXT NOT NULL CHECK (template IN (
        'verify_email', 'password_reset', 'staff_invite', 'authorization_decision',
        'credential_decision', 'work_decision', 'appeal_outcome', 'quality_standing', 'standing_move',
        'credential_expiry', 'admin_alert', 'account_removed', 'account_decision', 'reverification_reminder',
        'authorization_expired', 'payout_method_changed', 'payout_sent', 'payout_failed', 'b_notice',
        'work_auto_approved', 'test_result', 'tax_form_available')),
    subject TEXT,
    body_text TEXT,
    body_html TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    params TEXT,
    CHECK ((params IS NOT NULL AND subject IS NULL AND body_text IS NULL AND body_html IS NULL)
        OR (params IS NULL AND subject IS NOT NULL AND body_text IS NOT NULL AND body_html IS NOT NULL))
);
INSERT INTO outbox_new (id, event_key, recipient, template, subject, body_text, body_html, status, attempts,
    next_attempt_at, locked_until, last_error, created_at, sent_at)
SELECT id, event_key, recipient, template, subject, body_text, body_html, status, attempts,
    next_attempt_at, locked_until, last_error, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
