-- Issue 19. Runtime business settings: one row per setting (the keys are the registry
-- in src/settings/registry.rs; a new setting needs no migration, its row is seeded from
-- the environment at start). Values are text, validated by the registry on the way in.
CREATE TABLE settings (
    key TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 100),
    value TEXT NOT NULL,
    updated_by BIGINT REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL
);

-- Task <-> payment links without a row per task (docs/ledger.md, "Which tasks a payout
-- paid"): each item covers the contributor's credits to `available`, in entry order,
-- from covers_from_cents (inclusive) to covers_to_cents (exclusive), cumulative cents.
-- NULL for items built before this migration. (SQLite cannot add a table CHECK.)
ALTER TABLE payout_items ADD COLUMN covers_from_cents BIGINT CHECK (covers_from_cents >= 0);
ALTER TABLE payout_items ADD COLUMN covers_to_cents BIGINT CHECK (covers_to_cents >= 0);
-- The date the rail paid, in the payer's time zone (docs/tax.md): the 1099-NEC year.
ALTER TABLE payout_items ADD COLUMN paid_on DATE;
CREATE INDEX payout_items_paid_on ON payout_items (paid_on) WHERE paid_on IS NOT NULL;
UPDATE payout_items SET paid_on = date(settled_at) WHERE status = 'paid' OR (status = 'returned' AND returned_at IS NOT NULL);
