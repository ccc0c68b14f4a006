-- Each item's position among its batch's items of the same rail (1, 2, 3… in id order):
-- an export part (PayPal CSV files of 5,000 rows) is a range of positions, found by
-- index instead of skipping the items before it, and the rail's item count is the
-- largest position. Dense and unique per (batch, rail) by construction and by index.
ALTER TABLE payout_items ADD COLUMN rail_position BIGINT NOT NULL DEFAULT 0;
UPDATE payout_items SET rail_position = r.n FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY batch_id, rail ORDER BY id) AS n FROM payout_items
) AS r WHERE r.id = payout_items.id;
CREATE UNIQUE INDEX payout_items_rail_position ON payout_items(batch_id, rail, rail_position);
