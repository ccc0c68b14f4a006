DROP INDEX payout_items_rail_position;
ALTER TABLE payout_items DROP COLUMN rail_position;
