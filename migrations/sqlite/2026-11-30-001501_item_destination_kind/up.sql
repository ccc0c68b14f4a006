-- Each payout item carries its method's destination kind (email or bank account) and
-- its place among the batch's items of its rail and kind (1..n), so a Wise export part
-- (one template per kind, 1,000 transfers per file) is a range of one unique index:
-- neither counting a kind nor finding where a part starts joins the rail's items to
-- their methods, or skips rows (issue 19: a 100-part Wise export of 100,000 items took
-- 21 s). Existing items are numbered in their rail order, which is the order their
-- files were written in, so files already exported are unchanged.
-- SQLite adds a NOT NULL column only with a default: every existing row is then set
-- from its method and its rank, and triggers keep the kind equal to the method's
-- (PostgreSQL: a composite foreign key) and the position positive (PostgreSQL's CHECK
-- payout_items_kind_position_check, added by ALTER TABLE), so no item holds a default.
ALTER TABLE payout_items ADD COLUMN destination_kind TEXT NOT NULL DEFAULT 'bank'
    CHECK (destination_kind IN ('email', 'bank'));
ALTER TABLE payout_items ADD COLUMN kind_position BIGINT NOT NULL DEFAULT 0;
UPDATE payout_items SET destination_kind = (SELECT m.destination_kind FROM payout_methods m WHERE m.id = payout_items.method_id);
UPDATE payout_items SET kind_position = r.n
FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY batch_id, rail, destination_kind ORDER BY rail_position) AS n
      FROM payout_items) AS r
WHERE r.id = payout_items.id;
CREATE UNIQUE INDEX payout_methods_id_kind ON payout_methods (id, destination_kind);
CREATE TRIGGER payout_items_method_kind BEFORE INSERT ON payout_items
WHEN NEW.destination_kind IS NOT (SELECT destination_kind FROM payout_methods WHERE id = NEW.method_id)
BEGIN SELECT RAISE(ABORT, 'payout_items_method_kind: an item carries its method''s destination kind'); END;
CREATE TRIGGER payout_items_method_kind_update BEFORE UPDATE OF method_id, destination_kind ON payout_items
WHEN NEW.destination_kind IS NOT (SELECT destination_kind FROM payout_methods WHERE id = NEW.method_id)
BEGIN SELECT RAISE(ABORT, 'payout_items_method_kind: an item carries its method''s destination kind'); END;
CREATE TRIGGER payout_items_kind_position_check BEFORE INSERT ON payout_items
WHEN NEW.kind_position < 1
BEGIN SELECT RAISE(ABORT, 'payout_items_kind_position_check: kind_position > 0'); END;
CREATE TRIGGER payout_items_kind_position_check_update BEFORE UPDATE OF kind_position ON payout_items
WHEN NEW.kind_position < 1
BEGIN SELECT RAISE(ABORT, 'payout_items_kind_position_check: kind_position > 0'); END;
CREATE UNIQUE INDEX payout_items_kind_position ON payout_items (batch_id, rail, destination_kind, kind_position);
