-- Quality opens work (issue 24; docs/quality.md). Project types say which domain's
-- standing gates them, the standing tier they need, and which quality signals the task
-- platform reports for them; work records carry those signals.
ALTER TABLE project_types ADD COLUMN standing_domain TEXT;
ALTER TABLE project_types ADD COLUMN required_standing TEXT NOT NULL DEFAULT 'standard'
    CHECK (required_standing IN ('entry', 'standard', 'advanced'));
ALTER TABLE project_types ADD COLUMN reports_consensus BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE project_types ADD COLUMN reports_gold BOOLEAN NOT NULL DEFAULT FALSE;

-- Agreement with the consensus of the other annotators of the same item, and the score
-- on a gold (known-answer) item, in whole percent.
ALTER TABLE work_records ADD COLUMN consensus_agreement_percent INTEGER
    CHECK (consensus_agreement_percent BETWEEN 0 AND 100);
ALTER TABLE work_records ADD COLUMN gold_score_percent INTEGER
    CHECK (gold_score_percent BETWEEN 0 AND 100);
-- The nightly standing run reads the rolling window by completion time.
CREATE INDEX work_records_completed ON work_records(completed_at);

-- Standing per contributor and domain: the tier in force (a cache of the moves below)
-- and the figures of the last run, counted over the window since the last move.
CREATE TABLE domain_standings (
    user_id BIGINT NOT NULL REFERENCES users(id),
    domain TEXT NOT NULL,
    tier TEXT NOT NULL DEFAULT 'standard' CHECK (tier IN ('entry', 'standard', 'advanced')),
    tier_since TIMESTAMP,
    agreement_count INTEGER NOT NULL DEFAULT 0 CHECK (agreement_count >= 0),
    agreement_points BIGINT NOT NULL DEFAULT 0 CHECK (agreement_points >= 0),
    gold_count INTEGER NOT NULL DEFAULT 0 CHECK (gold_count >= 0),
    gold_points BIGINT NOT NULL DEFAULT 0 CHECK (gold_points >= 0),
    decided_count INTEGER NOT NULL DEFAULT 0 CHECK (decided_count >= 0),
    rejected_count INTEGER NOT NULL DEFAULT 0 CHECK (rejected_count BETWEEN 0 AND decided_count),
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, domain)
);

-- Every move of a standing tier: a decision with the numbers behind it. `proposed` waits
-- for a reviewer when the settings ask for human confirmation (`dismissed` never took
-- effect); `applied` took effect at `effective_at` and may be appealed until
-- `appeal_deadline`; an `overturned` move's effect ended at `decided_at`.
CREATE TABLE standing_moves (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    domain TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('promotion', 'demotion')),
    from_tier TEXT NOT NULL CHECK (from_tier IN ('entry', 'standard', 'advanced')),
    to_tier TEXT NOT NULL CHECK (to_tier IN ('entry', 'standard', 'advanced')),
    reason_code TEXT NOT NULL,
    figures TEXT NOT NULL,
    note TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('proposed', 'dismissed', 'applied', 'appealed', 'upheld', 'overturned')),
    proposed_at TIMESTAMP NOT NULL,
    reviewed_by BIGINT REFERENCES users(id),
    reviewed_at TIMESTAMP,
    review_note TEXT,
    effective_at TIMESTAMP,
    appeal_deadline TIMESTAMP,
    appeal_message TEXT,
    appealed_at TIMESTAMP,
    claimed_by BIGINT REFERENCES users(id),
    claim_expires_at TIMESTAMP,
    decided_by BIGINT REFERENCES users(id),
    decided_at TIMESTAMP,
    decision_reason_code TEXT,
    decision_note TEXT,
    CHECK (from_tier <> to_tier),
    CHECK ((status IN ('proposed', 'dismissed')) = (effective_at IS NULL)),
    CHECK (status NOT IN ('appealed', 'upheld', 'overturned') OR appealed_at IS NOT NULL),
    CHECK (status NOT IN ('upheld', 'overturned') OR decided_at IS NOT NULL)
);
CREATE INDEX standing_moves_user ON standing_moves(user_id, domain, id);
CREATE INDEX standing_moves_status ON standing_moves(status, id);
-- At most one proposal waits per contributor and domain.
CREATE UNIQUE INDEX standing_moves_one_proposal ON standing_moves(user_id, domain) WHERE status = 'proposed';
