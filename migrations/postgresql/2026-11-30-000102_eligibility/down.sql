DROP INDEX ledger_adjustments_maker_window;
DROP TABLE payout_releases;
ALTER TABLE work_authorizations DROP COLUMN verified_at;
