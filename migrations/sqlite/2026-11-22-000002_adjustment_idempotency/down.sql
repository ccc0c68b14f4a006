DROP INDEX ledger_adjustments_idempotency;
ALTER TABLE ledger_adjustments DROP COLUMN request_hash;
ALTER TABLE ledger_adjustments DROP COLUMN idempotency_key;
