DROP INDEX payout_batches_sender_batch_id;
ALTER TABLE payout_batches DROP COLUMN sender_batch_id;
ALTER TABLE payout_methods DROP COLUMN destination_kind;
