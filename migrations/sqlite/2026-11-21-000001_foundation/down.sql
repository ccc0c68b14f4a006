DROP TABLE outbox;
DROP TABLE audit_log;
DROP TABLE refresh_tokens;
DROP TABLE email_tokens;
DROP TABLE user_roles;
DROP TABLE users;
