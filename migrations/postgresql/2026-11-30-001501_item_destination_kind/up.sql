-- Each payout item carries its method's destination kind (email or bank account) and
-- its place among the batch's items of its rail and kind (1..n), so a Wise export part
-- (one template per kind, 1,000 transfers per file) is a range of one unique index:
-- neither counting a kind nor finding where a part starts joins the rail's items to
-- their methods, or skips rows (issue 19: a 100-part Wise export of 100,000 items took
-- 21 s). Existing items are numbered in their rail order, which is the order their
-- files were written in, so files already exported are unchanged. The composite
-- foreign key keeps the kind equal to the method's.
ALTER TABLE payout_items ADD COLUMN destination_kind TEXT, ADD COLUMN kind_position BIGINT;
UPDATE payout_items i SET destination_kind = m.destination_kind FROM payout_methods m WHERE m.id = i.method_id;
UPDATE payout_items i SET kind_position = r.n
FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY batch_id, rail, destination_kind ORDER BY rail_position) AS n
      FROM payout_items) r
WHERE r.id = i.id;
ALTER TABLE payout_items
    ALTER COLUMN destination_kind SET NOT NULL,
    ALTER COLUMN kind_position SET NOT NULL,
    ADD CONSTRAINT payout_items_destination_kind_check CHECK (destination_kind IN ('email', 'bank')),
    ADD CONSTRAINT payout_items_kind_position_check CHECK (kind_position > 0);
CREATE UNIQUE INDEX payout_methods_id_kind ON payout_methods (id, destination_kind);
ALTER TABLE payout_items
    DROP CONSTRAINT payout_items_method_id_fkey,
    ADD CONSTRAINT payout_items_method_kind_fkey FOREIGN KEY (method_id, destination_kind)
        REFERENCES payout_methods (id, destination_kind);
CREATE UNIQUE INDEX payout_items_kind_position ON payout_items (batch_id, rail, destination_kind, kind_position);
