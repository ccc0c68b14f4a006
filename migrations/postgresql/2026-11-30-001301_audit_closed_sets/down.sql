ALTER TABLE audit_log DROP CONSTRAINT audit_log_subject_type_check;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
