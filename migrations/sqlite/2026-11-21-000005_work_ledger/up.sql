-- Work records, quality review, appeals, quality standing and the double-entry ledger
-- (SQLite). Money is BIGINT cents; decimal quantities and rates are TEXT exactly as
-- received, so the rate applied stays locked on the record.
CREATE TABLE work_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contributor_id BIGINT NOT NULL REFERENCES users(id),
    project_type_id BIGINT NOT NULL REFERENCES project_types(id),
    task_ref TEXT NOT NULL UNIQUE CHECK (length(task_ref) BETWEEN 1 AND 200),
    unit_kind TEXT NOT NULL CHECK (unit_kind IN ('units', 'minutes')),
    quantity TEXT NOT NULL,
    rate TEXT NOT NULL,
    pay_cents BIGINT NOT NULL CHECK (pay_cents >= 0),
    completed_at TIMESTAMP NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    ingested_by BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    review_due_at TIMESTAMP NOT NULL,
    claimed_by BIGINT REFERENCES users(id),
    claim_expires_at TIMESTAMP,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    decision_source TEXT CHECK (decision_source IS NULL OR decision_source IN ('reviewer', 'auto', 'appeal')),
    reason_code TEXT,
    note TEXT,
    snapshot_ref TEXT,
    appeal_deadline TIMESTAMP,
    approved_at TIMESTAMP,
    hold_until TIMESTAMP,
    released_at TIMESTAMP,
    CHECK (status = 'pending' OR decided_at IS NOT NULL),
    CHECK (status <> 'approved' OR (approved_at IS NOT NULL AND hold_until IS NOT NULL))
);
CREATE INDEX work_records_queue ON work_records(status, id);
CREATE INDEX work_records_due ON work_records(status, review_due_at);
CREATE INDEX work_records_hold ON work_records(status, released_at, hold_until);
CREATE INDEX work_records_contributor ON work_records(contributor_id, id);

-- One appeal per rejected record.
CREATE TABLE work_appeals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    work_record_id BIGINT NOT NULL UNIQUE REFERENCES work_records(id),
    contributor_id BIGINT NOT NULL REFERENCES users(id),
    rejected_by BIGINT REFERENCES users(id),
    message TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'upheld', 'overturned')),
    created_at TIMESTAMP NOT NULL,
    claimed_by BIGINT REFERENCES users(id),
    claim_expires_at TIMESTAMP,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    reason_code TEXT,
    note TEXT,
    CHECK (decided_by IS NULL OR rejected_by IS NULL OR decided_by <> rejected_by)
);
CREATE INDEX work_appeals_queue ON work_appeals(status, id);

-- The rung of the quality ladder a contributor stands on.
CREATE TABLE quality_standings (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    level TEXT NOT NULL CHECK (level IN ('good', 'warning', 'retraining', 'suspension')),
    rejection_share_percent INTEGER NOT NULL,
    decided_count INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE ledger_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- `user:{id}:{kind}` or `platform:{kind}`: one account per owner and kind.
    code TEXT NOT NULL UNIQUE,
    owner_id BIGINT REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('pending', 'held', 'available', 'in_payout', 'expense',
        'payouts_clearing', 'cash', 'backup_withholding_payable')),
    currency TEXT NOT NULL DEFAULT 'USD' CHECK (currency = 'USD'),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts(owner_id);
INSERT INTO ledger_accounts (code, owner_id, kind, currency, created_at) VALUES
    ('platform:expense', NULL, 'expense', 'USD', CURRENT_TIMESTAMP),
    ('platform:payouts_clearing', NULL, 'payouts_clearing', 'USD', CURRENT_TIMESTAMP),
    ('platform:cash', NULL, 'cash', 'USD', CURRENT_TIMESTAMP),
    ('platform:backup_withholding_payable', NULL, 'backup_withholding_payable', 'USD', CURRENT_TIMESTAMP);

CREATE TABLE ledger_transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('work_approved', 'hold_released', 'bonus', 'test_stipend', 'adjustment',
        'clawback', 'payout_reserved', 'payout_settled', 'payout_failed', 'backup_withholding')),
    -- What the transaction is about, e.g. `work_record:42`: earned once, by constraint.
    reference TEXT NOT NULL,
    memo TEXT NOT NULL,
    contributor_id BIGINT REFERENCES users(id),
    created_by BIGINT REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, reference)
);
CREATE INDEX ledger_transactions_contributor ON ledger_transactions(contributor_id, id);

CREATE TABLE ledger_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id BIGINT NOT NULL REFERENCES ledger_transactions(id),
    account_id BIGINT NOT NULL REFERENCES ledger_accounts(id),
    amount_cents BIGINT NOT NULL CHECK (amount_cents <> 0)
);
CREATE INDEX ledger_entries_account ON ledger_entries(account_id, id);
CREATE INDEX ledger_entries_transaction ON ledger_entries(transaction_id);

-- Append-only: corrections are new reversing transactions.
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- Manual adjustments, bonuses and clawbacks; above the threshold a second finance user
-- approves before anything is posted.
CREATE TABLE ledger_adjustments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    contributor_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('adjustment', 'bonus', 'clawback')),
    amount_cents BIGINT NOT NULL CHECK (amount_cents <> 0),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending_approval', 'posted')),
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    approved_by BIGINT REFERENCES users(id),
    approved_at TIMESTAMP,
    transaction_id BIGINT REFERENCES ledger_transactions(id),
    CHECK (approved_by IS NULL OR approved_by <> created_by),
    CHECK (status = 'pending_approval' OR transaction_id IS NOT NULL)
);
CREATE INDEX ledger_adjustments_status ON ledger_adjustments(status, id);
