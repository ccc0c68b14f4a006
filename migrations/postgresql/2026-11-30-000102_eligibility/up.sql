-- When an authorization was verified: the eligibility rule asks whether a verified
-- authorization was in force when the work was done, including one since superseded by
-- its renewal (issue 15). Rows verified before this column existed take their decision
-- time; a renewal superseded before it cannot be told apart from an unverified one.
ALTER TABLE work_authorizations ADD COLUMN verified_at TIMESTAMP;
UPDATE work_authorizations SET verified_at = decided_at WHERE status = 'verified';

-- Finance's release of a removed contributor's earned money (issue 16 item 4):
-- requested by one finance user, approved by another (maker-checker, also a CHECK).
CREATE TABLE payout_releases (
    id BIGSERIAL PRIMARY KEY,
    contributor_id BIGINT NOT NULL REFERENCES users(id),
    note TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending_approval', 'approved')),
    requested_by BIGINT NOT NULL REFERENCES users(id),
    requested_at TIMESTAMP NOT NULL,
    approved_by BIGINT REFERENCES users(id),
    approved_at TIMESTAMP,
    CHECK (approved_by IS NULL OR approved_by <> requested_by),
    CHECK ((status = 'approved') = (approved_by IS NOT NULL))
);
CREATE UNIQUE INDEX payout_releases_contributor ON payout_releases(contributor_id);

-- Manual postings by one maker for one contributor over a rolling window add up
-- against the maker-checker threshold (issue 15).
CREATE INDEX ledger_adjustments_maker_window ON ledger_adjustments(created_by, contributor_id, created_at);
