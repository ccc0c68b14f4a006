-- The audit log's action and subject type are closed sets (issue 17): `AuditAction` and
-- `AuditSubject` in src/audit/model.rs. The CHECKs hold the columns to them, so a read
-- never meets a value the enums cannot name; adding an action means adding it here in a
-- new migration as well.
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN (
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
        'work_records.ingested'));
ALTER TABLE audit_log ADD CONSTRAINT audit_log_subject_type_check
    CHECK (subject_type IN (
        'account', 'credential', 'credential_rule', 'file', 'jobs', 'ledger_adjustment',
        'ledger_transaction', 'outbox', 'payout_batch', 'payout_item', 'payout_method',
        'project_type', 'qualification_test', 'quality_standing', 'settings', 'standing_move',
        'standing_move_appeal', 'tax_form', 'tax_profile', 'tax_threshold', 'tax_year',
        'test_answer', 'user', 'work_appeal', 'work_authorization', 'work_record', 'work_records'));
