-- Manual ledger adjustments move money, so their POST takes an Idempotency-Key (SPEC §12):
-- a retried request returns the adjustment it already made instead of paying twice.
-- Keys are scoped to the finance user who sends them; older rows have none.
ALTER TABLE ledger_adjustments ADD COLUMN idempotency_key TEXT;
ALTER TABLE ledger_adjustments ADD COLUMN request_hash TEXT;
CREATE UNIQUE INDEX ledger_adjustments_idempotency ON ledger_adjustments(created_by, idempotency_key);
