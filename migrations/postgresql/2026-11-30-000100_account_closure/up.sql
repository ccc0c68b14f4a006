-- Contributors may close their own account (status 'closed', issue 16 item 19), and the
-- eligibility rule judges work at the time it was done: work_blocked_since is when the
-- account entered the run of statuses that bar new work (rejected, suspended, removed,
-- disabled, closed) it is still in; NULL while the status allows work (issue 15).
ALTER TABLE users DROP CONSTRAINT users_status_check;
ALTER TABLE users ADD CONSTRAINT users_status_check CHECK (status IN ('registered', 'email_verified', 'authorization_pending',
        'authorization_verified', 'active', 'rejected', 'suspended', 'removed', 'staff', 'disabled', 'closed'));
ALTER TABLE users ADD COLUMN work_blocked_since TIMESTAMP;
UPDATE users SET work_blocked_since = updated_at
    WHERE status IN ('rejected', 'suspended', 'removed', 'disabled');
