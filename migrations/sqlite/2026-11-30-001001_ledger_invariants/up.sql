-- Issue 17: the ledger's and the payout batches' invariants, held by the database
-- (docs/ledger.md, "What the database guarantees"). SQLite has no deferred triggers, so
-- a ledger transaction is written open, its entries inserted, and then sealed by an
-- UPDATE; the seal is refused unless the transaction has two or more entries summing
-- to zero, and a sealed transaction takes no new entries.

-- Existing transactions were balanced by the code that wrote them: sealed.
DROP TRIGGER ledger_transactions_no_update;
ALTER TABLE ledger_transactions ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE ledger_transactions SET sealed = TRUE;
CREATE INDEX ledger_transactions_open ON ledger_transactions (id) WHERE sealed = FALSE;

CREATE TRIGGER ledger_transactions_written_open BEFORE INSERT ON ledger_transactions
WHEN NEW.sealed <> FALSE
BEGIN SELECT RAISE(ABORT, 'ledger_transactions_written_open: a ledger transaction is written open, then sealed'); END;

-- The only change a transaction accepts is its seal; every other column stays.
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
WHEN NOT (OLD.sealed = FALSE AND NEW.sealed = TRUE AND NEW.id = OLD.id AND NEW.kind = OLD.kind
    AND NEW.reference = OLD.reference AND NEW.memo = OLD.memo AND NEW.contributor_id IS OLD.contributor_id
    AND NEW.created_by IS OLD.created_by AND NEW.created_at = OLD.created_at)
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

CREATE TRIGGER ledger_transactions_balanced BEFORE UPDATE OF sealed ON ledger_transactions
WHEN NEW.sealed = TRUE AND OLD.sealed = FALSE AND (
    (SELECT COUNT(*) FROM ledger_entries WHERE transaction_id = NEW.id) < 2
    OR (SELECT SUM(amount_cents) FROM ledger_entries WHERE transaction_id = NEW.id) <> 0)
BEGIN SELECT RAISE(ABORT, 'ledger_transactions_balanced: a ledger transaction needs two or more entries summing to zero'); END;

CREATE TRIGGER ledger_entries_open_transaction BEFORE INSERT ON ledger_entries
WHEN (SELECT sealed FROM ledger_transactions WHERE id = NEW.transaction_id) <> FALSE
BEGIN SELECT RAISE(ABORT, 'ledger_entries_open_transaction: a sealed ledger transaction takes no new entries'); END;

-- Payout batch totals: non-negative, net + withheld = gross, and the sums of the
-- batch's items. A batch starts at zero; its items join it before its totals are
-- written (the build writes the totals last), and an item's amounts never change.
CREATE TRIGGER payout_batches_totals_start_at_zero BEFORE INSERT ON payout_batches
WHEN NEW.item_count <> 0 OR NEW.gross_cents <> 0 OR NEW.withheld_cents <> 0 OR NEW.net_cents <> 0
BEGIN SELECT RAISE(ABORT, 'payout_batches_totals: a payout batch starts with zero totals'); END;

CREATE TRIGGER payout_batches_totals BEFORE UPDATE OF item_count, gross_cents, withheld_cents, net_cents ON payout_batches
WHEN NEW.item_count < 0 OR NEW.gross_cents < 0 OR NEW.withheld_cents < 0 OR NEW.net_cents < 0
    OR NEW.net_cents + NEW.withheld_cents <> NEW.gross_cents
    OR NEW.item_count <> (SELECT COUNT(*) FROM payout_items WHERE batch_id = NEW.id)
    OR NEW.gross_cents <> (SELECT COALESCE(SUM(gross_cents), 0) FROM payout_items WHERE batch_id = NEW.id)
    OR NEW.withheld_cents <> (SELECT COALESCE(SUM(withheld_cents), 0) FROM payout_items WHERE batch_id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'payout_batches_totals: batch totals are non-negative, net + withheld = gross, and the sums of its items'); END;

CREATE TRIGGER payout_items_join_before_totals BEFORE INSERT ON payout_items
WHEN (SELECT item_count FROM payout_batches WHERE id = NEW.batch_id) <> 0
BEGIN SELECT RAISE(ABORT, 'payout_items_join_before_totals: items join a payout batch before its totals are written'); END;

CREATE TRIGGER payout_items_amounts_fixed BEFORE UPDATE OF batch_id, gross_cents, withheld_cents, net_cents ON payout_items
WHEN NEW.batch_id <> OLD.batch_id OR NEW.gross_cents <> OLD.gross_cents
    OR NEW.withheld_cents <> OLD.withheld_cents OR NEW.net_cents <> OLD.net_cents
BEGIN SELECT RAISE(ABORT, 'payout_items_amounts_fixed: a payout item''s amounts never change'); END;

CREATE TRIGGER payout_items_no_delete BEFORE DELETE ON payout_items
BEGIN SELECT RAISE(ABORT, 'payout_items_no_delete: payout items are never deleted'); END;

-- PostgreSQL's CHECK payout_items_covers_range (added by ALTER TABLE, which SQLite
-- cannot), as triggers of the same name: tests/api/schema.rs pairs them.
CREATE TRIGGER payout_items_covers_range BEFORE INSERT ON payout_items
WHEN NOT ((NEW.covers_from_cents IS NULL) = (NEW.covers_to_cents IS NULL)
    AND (NEW.covers_from_cents IS NULL OR NEW.covers_from_cents <= NEW.covers_to_cents))
BEGIN SELECT RAISE(ABORT, 'payout_items_covers_range: covers_from_cents <= covers_to_cents, both or neither'); END;
CREATE TRIGGER payout_items_covers_range_update BEFORE UPDATE OF covers_from_cents, covers_to_cents ON payout_items
WHEN NOT ((NEW.covers_from_cents IS NULL) = (NEW.covers_to_cents IS NULL)
    AND (NEW.covers_from_cents IS NULL OR NEW.covers_from_cents <= NEW.covers_to_cents))
BEGIN SELECT RAISE(ABORT, 'payout_items_covers_range: covers_from_cents <= covers_to_cents, both or neither'); END;
