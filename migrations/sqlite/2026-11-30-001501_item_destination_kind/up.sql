-- Each payout item carries its method's destination kind (email or bank account), so a
-- Wise export part (one template per kind, 1,000 transfers per file) is a range of one
-- index: counting a kind and finding where a part starts no longer join every item of
-- the rail to its method (issue 19: a 100-part Wise export of 100,000 items took 21 s).
-- SQLite adds a NOT NULL column only with a default: every existing row is then set
-- from its method, and the triggers keep every item's copy equal to its method's kind
-- (PostgreSQL: a composite foreign key), so the default is never what an item holds.
ALTER TABLE payout_items ADD COLUMN destination_kind TEXT NOT NULL DEFAULT 'bank'
    CHECK (destination_kind IN ('email', 'bank'));
UPDATE payout_items SET destination_kind = (SELECT m.destination_kind FROM payout_methods m WHERE m.id = payout_items.method_id);
CREATE UNIQUE INDEX payout_methods_id_kind ON payout_methods (id, destination_kind);
CREATE TRIGGER payout_items_method_kind BEFORE INSERT ON payout_items
WHEN NEW.destination_kind IS NOT (SELECT destination_kind FROM payout_methods WHERE id = NEW.method_id)
BEGIN SELECT RAISE(ABORT, 'payout_items_method_kind: an item carries its method''s destination kind'); END;
CREATE TRIGGER payout_items_method_kind_update BEFORE UPDATE OF method_id, destination_kind ON payout_items
WHEN NEW.destination_kind IS NOT (SELECT destination_kind FROM payout_methods WHERE id = NEW.method_id)
BEGIN SELECT RAISE(ABORT, 'payout_items_method_kind: an item carries its method''s destination kind'); END;
CREATE INDEX payout_items_kind_position ON payout_items (batch_id, rail, destination_kind, rail_position);
