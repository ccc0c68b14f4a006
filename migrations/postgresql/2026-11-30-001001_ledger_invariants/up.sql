-- Issue 17: the ledger's and the payout batches' invariants, held by the database
-- (docs/ledger.md, "What the database guarantees"). A ledger transaction is written
-- open, its entries inserted, and then sealed by an UPDATE; the seal is refused unless
-- the transaction has two or more entries summing to zero, a sealed transaction takes no
-- new entries, and a deferred constraint trigger refuses to commit one still open.

-- Existing transactions were balanced by the code that wrote them: sealed (the default
-- fills them without a rewrite; new rows default to open).
ALTER TABLE ledger_transactions ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE ledger_transactions ALTER COLUMN sealed SET DEFAULT FALSE;
CREATE INDEX ledger_transactions_open ON ledger_transactions (id) WHERE sealed = FALSE;

DROP TRIGGER ledger_transactions_no_change ON ledger_transactions;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE FUNCTION ledger_transactions_written_open() RETURNS trigger AS $$
BEGIN
    IF NEW.sealed THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transactions_written_open',
            MESSAGE = 'a ledger transaction is written open, then sealed';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transactions_written_open BEFORE INSERT ON ledger_transactions
FOR EACH ROW EXECUTE FUNCTION ledger_transactions_written_open();

-- The only change a transaction accepts is its seal (every other column stays), and
-- only when its entries balance.
CREATE FUNCTION ledger_transactions_seal() RETURNS trigger AS $$
DECLARE
    n BIGINT;
    total NUMERIC;
BEGIN
    IF OLD.sealed OR NOT NEW.sealed OR (to_jsonb(NEW) - 'sealed') IS DISTINCT FROM (to_jsonb(OLD) - 'sealed') THEN
        RAISE EXCEPTION 'the ledger is append-only';
    END IF;
    SELECT COUNT(*), COALESCE(SUM(amount_cents), 0) INTO n, total FROM ledger_entries WHERE transaction_id = NEW.id;
    IF n < 2 OR total <> 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transactions_balanced',
            MESSAGE = format('ledger transaction %s has %s entries summing to %s: it needs two or more summing to zero',
                NEW.id, n, total);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transactions_balanced BEFORE UPDATE ON ledger_transactions
FOR EACH ROW EXECUTE FUNCTION ledger_transactions_seal();

-- At commit, every transaction inserted in it is sealed.
CREATE FUNCTION ledger_transactions_sealed_at_commit() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.id AND NOT sealed) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transactions_sealed_at_commit',
            MESSAGE = format('ledger transaction %s is still open at commit', NEW.id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER ledger_transactions_sealed_at_commit AFTER INSERT ON ledger_transactions
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transactions_sealed_at_commit();

-- Statement-level: one join per multi-row INSERT, not a lookup per entry.
CREATE FUNCTION ledger_entries_open_transaction() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.sealed) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_open_transaction',
            MESSAGE = 'a sealed ledger transaction takes no new entries';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entries_open_transaction AFTER INSERT ON ledger_entries
REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_open_transaction();

-- Payout batch totals: non-negative, net + withheld = gross, and the sums of the
-- batch's items. A batch starts at zero; its items join it before its totals are
-- written (the build writes the totals last), and an item's amounts never change.
CREATE FUNCTION payout_batches_totals() RETURNS trigger AS $$
DECLARE
    n BIGINT;
    gross NUMERIC;
    withheld NUMERIC;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.item_count <> 0 OR NEW.gross_cents <> 0 OR NEW.withheld_cents <> 0 OR NEW.net_cents <> 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'payout_batches_totals',
                MESSAGE = 'a payout batch starts with zero totals';
        END IF;
        RETURN NEW;
    END IF;
    SELECT COUNT(*), COALESCE(SUM(gross_cents), 0), COALESCE(SUM(withheld_cents), 0) INTO n, gross, withheld
        FROM payout_items WHERE batch_id = NEW.id;
    IF NEW.item_count < 0 OR NEW.gross_cents < 0 OR NEW.withheld_cents < 0 OR NEW.net_cents < 0
        OR NEW.net_cents + NEW.withheld_cents <> NEW.gross_cents
        OR NEW.item_count <> n OR NEW.gross_cents <> gross OR NEW.withheld_cents <> withheld THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'payout_batches_totals',
            MESSAGE = 'batch totals are non-negative, net + withheld = gross, and the sums of its items';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payout_batches_totals_start_at_zero BEFORE INSERT ON payout_batches
FOR EACH ROW EXECUTE FUNCTION payout_batches_totals();
CREATE TRIGGER payout_batches_totals BEFORE UPDATE OF item_count, gross_cents, withheld_cents, net_cents ON payout_batches
FOR EACH ROW EXECUTE FUNCTION payout_batches_totals();

CREATE FUNCTION payout_items_join_before_totals() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_items i JOIN payout_batches b ON b.id = i.batch_id WHERE b.item_count <> 0) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'payout_items_join_before_totals',
            MESSAGE = 'items join a payout batch before its totals are written';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payout_items_join_before_totals AFTER INSERT ON payout_items
REFERENCING NEW TABLE AS new_items FOR EACH STATEMENT EXECUTE FUNCTION payout_items_join_before_totals();

CREATE FUNCTION payout_items_amounts_fixed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'payout_items_no_delete',
            MESSAGE = 'payout items are never deleted';
    END IF;
    IF (NEW.batch_id, NEW.gross_cents, NEW.withheld_cents, NEW.net_cents)
        IS DISTINCT FROM (OLD.batch_id, OLD.gross_cents, OLD.withheld_cents, OLD.net_cents) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'payout_items_amounts_fixed',
            MESSAGE = 'a payout item''s amounts never change';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payout_items_amounts_fixed BEFORE UPDATE OF batch_id, gross_cents, withheld_cents, net_cents ON payout_items
FOR EACH ROW EXECUTE FUNCTION payout_items_amounts_fixed();
CREATE TRIGGER payout_items_no_delete BEFORE DELETE ON payout_items
FOR EACH ROW EXECUTE FUNCTION payout_items_amounts_fixed();
