DROP TRIGGER payout_items_covers_range_update;
DROP TRIGGER payout_items_covers_range;
DROP TRIGGER payout_items_no_delete;
DROP TRIGGER payout_items_amounts_fixed;
DROP TRIGGER payout_items_join_before_totals;
DROP TRIGGER payout_batches_totals;
DROP TRIGGER payout_batches_totals_start_at_zero;
DROP TRIGGER ledger_entries_open_transaction;
DROP TRIGGER ledger_transactions_balanced;
DROP TRIGGER ledger_transactions_no_update;
DROP TRIGGER ledger_transactions_written_open;
DROP INDEX ledger_transactions_open;
ALTER TABLE ledger_transactions DROP COLUMN sealed;
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
