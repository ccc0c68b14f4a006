DROP TABLE auth_throttle;
ALTER TABLE email_tokens DROP COLUMN revoked_at;
DROP TABLE auth_sessions;
