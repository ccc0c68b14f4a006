-- Scheduled jobs across instances (issue 21). One row per job: an instance runs a job
-- only after taking its lease with a conditional UPDATE (due, and no live lease), so
-- several instances on one database run each job once per period; a crashed holder's
-- lease expires and another instance takes over. The last run is reported by /readyz.
CREATE TABLE job_runs (
    name TEXT PRIMARY KEY,
    next_due_at TIMESTAMP NOT NULL,
    locked_by TEXT,
    locked_until TIMESTAMP,
    last_started_at TIMESTAMP,
    last_finished_at TIMESTAMP,
    last_outcome TEXT CHECK (last_outcome IN ('succeeded', 'failed')),
    last_error TEXT,
    runs BIGINT NOT NULL DEFAULT 0 CHECK (runs >= 0),
    CHECK ((locked_by IS NULL) = (locked_until IS NULL))
);
