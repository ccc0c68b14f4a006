DROP TABLE outbox;
DROP TRIGGER audit_log_no_change ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
DROP TABLE refresh_tokens;
DROP TABLE email_tokens;
DROP TABLE user_roles;
DROP TABLE users;
