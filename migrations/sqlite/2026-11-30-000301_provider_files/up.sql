-- Provider files (docs/payouts.md).
-- The kind of a payout method's destination, in clear beside the encrypted details:
-- Wise publishes one batch template for email recipients and one for bank accounts, so
-- an export part reads the items of one kind by index. Existing rows are classified by
-- their mask, which shows an email's domain and never an `@` for a bank account.
-- (SQLite cannot drop a column default; the code always sets the kind.)
ALTER TABLE payout_methods ADD COLUMN destination_kind TEXT NOT NULL DEFAULT 'bank'
    CHECK (destination_kind IN ('email', 'bank'));
UPDATE payout_methods SET destination_kind = 'email' WHERE masked LIKE '%@%';

-- PayPal's sender_batch_id: a random identifier stored with the batch, so it never
-- repeats across environments, restores or batches, and stays the same for retries.
ALTER TABLE payout_batches ADD COLUMN sender_batch_id TEXT NOT NULL DEFAULT '';
UPDATE payout_batches SET sender_batch_id = 'GH-' || lower(hex(randomblob(16)));
CREATE UNIQUE INDEX payout_batches_sender_batch_id ON payout_batches(sender_batch_id);
