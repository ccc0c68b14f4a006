DROP INDEX payout_items_paid_on;
ALTER TABLE payout_items DROP COLUMN paid_on;
ALTER TABLE payout_items DROP COLUMN covers_to_cents;
ALTER TABLE payout_items DROP COLUMN covers_from_cents;
DROP TABLE settings;
