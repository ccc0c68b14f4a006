-- Emails are rendered when they are sent (issue 23): a new outbox row holds its template
-- (a closed set: the CHECK issue 17 left out) and the template's parameters as JSON,
-- not its rendered subject and bodies. Rows queued before keep their rendering and are
-- sent as they are; each row has one or the other.
ALTER TABLE outbox
    ADD COLUMN params TEXT,
    ALTER COLUMN subject DROP NOT NULL,
    ALTER COLUMN body_text DROP NOT NULL,
    ALTER COLUMN body_html DROP NOT NULL,
    ADD CONSTRAINT outbox_template_check CHECK (template IN (
        'verify_email', 'password_reset', 'staff_invite', 'authorization_decision',
        'credential_decision', 'work_decision', 'appeal_outcome', 'quality_standing', 'standing_move',
        'credential_expiry', 'admin_alert', 'account_removed', 'account_decision', 'reverification_reminder',
        'authorization_expired', 'payout_method_changed', 'payout_sent', 'payout_failed', 'b_notice',
        'work_auto_approved', 'test_result', 'tax_form_available')),
    ADD CONSTRAINT outbox_content_check
        CHECK ((params IS NOT NULL AND subject IS NULL AND body_text IS NULL AND body_html IS NULL)
            OR (params IS NULL AND subject IS NOT NULL AND body_text IS NOT NULL AND body_html IS NOT NULL));
