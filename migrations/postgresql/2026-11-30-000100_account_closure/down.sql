ALTER TABLE users DROP COLUMN work_blocked_since;
UPDATE users SET status = 'removed' WHERE status = 'closed';
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('registered', 'email_verified', 'authorization_pending',
        'authorization_verified', 'active', 'rejected', 'suspended', 'removed', 'staff', 'disabled'));
