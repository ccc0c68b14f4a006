DROP INDEX payout_items_kind_position;
ALTER TABLE payout_items
    DROP CONSTRAINT payout_items_method_kind_fkey,
    ADD CONSTRAINT payout_items_method_id_fkey FOREIGN KEY (method_id) REFERENCES payout_methods (id);
DROP INDEX payout_methods_id_kind;
ALTER TABLE payout_items DROP COLUMN kind_position, DROP COLUMN destination_kind;
