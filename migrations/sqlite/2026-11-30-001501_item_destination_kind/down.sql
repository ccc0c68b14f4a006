DROP INDEX payout_items_kind_position;
DROP TRIGGER payout_items_kind_position_check_update;
DROP TRIGGER payout_items_kind_position_check;
DROP TRIGGER payout_items_method_kind_update;
DROP TRIGGER payout_items_method_kind;
DROP INDEX payout_methods_id_kind;
ALTER TABLE payout_items DROP COLUMN kind_position;
ALTER TABLE payout_items DROP COLUMN destination_kind;
