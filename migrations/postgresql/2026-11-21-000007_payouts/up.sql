-- Payout methods, payout batches and items, exports (PostgreSQL). Money is BIGINT cents.

-- A contributor's payout destinations. Bank and email details are AES-256-GCM ciphertext
-- (`details_enc`); `masked` is what every response shows. One current (not replaced)
-- method per contributor, by a partial unique index.
CREATE TABLE payout_methods (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    rail TEXT NOT NULL REFERENCES payout_rails(rail),
    status TEXT NOT NULL CHECK (status IN ('active', 'needs_update', 'replaced')),
    status_reason TEXT,
    details_enc TEXT NOT NULL,
    masked TEXT NOT NULL,
    -- The change hold: a payout may use the method from then on.
    usable_from TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    replaced_at TIMESTAMP,
    CHECK (status <> 'needs_update' OR status_reason IS NOT NULL),
    CHECK (status <> 'replaced' OR replaced_at IS NOT NULL)
);
CREATE UNIQUE INDEX payout_methods_one_current ON payout_methods(user_id) WHERE status <> 'replaced';

CREATE TABLE payout_batches (
    id BIGSERIAL PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'exported', 'settled', 'cancelled')),
    idempotency_key TEXT NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    -- SHA-256 of the canonical request body: the same key with another body is refused.
    request_hash TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    approved_by BIGINT REFERENCES users(id),
    approved_at TIMESTAMP,
    exported_at TIMESTAMP,
    settled_at TIMESTAMP,
    cancelled_by BIGINT REFERENCES users(id),
    cancelled_at TIMESTAMP,
    item_count BIGINT NOT NULL DEFAULT 0,
    gross_cents BIGINT NOT NULL DEFAULT 0,
    withheld_cents BIGINT NOT NULL DEFAULT 0,
    net_cents BIGINT NOT NULL DEFAULT 0,
    -- Maker-checker: the builder never approves.
    CHECK (approved_by IS NULL OR approved_by <> created_by),
    CHECK (status NOT IN ('approved', 'exported', 'settled') OR approved_at IS NOT NULL)
);
CREATE INDEX payout_batches_status ON payout_batches(status, id);

-- One item per contributor and batch; its money is reserved in the ledger under
-- `payout_item:{id}`.
CREATE TABLE payout_items (
    id BIGSERIAL PRIMARY KEY,
    batch_id BIGINT NOT NULL REFERENCES payout_batches(id),
    contributor_id BIGINT NOT NULL REFERENCES users(id),
    method_id BIGINT NOT NULL REFERENCES payout_methods(id),
    rail TEXT NOT NULL REFERENCES payout_rails(rail),
    gross_cents BIGINT NOT NULL CHECK (gross_cents > 0),
    withheld_cents BIGINT NOT NULL CHECK (withheld_cents >= 0),
    net_cents BIGINT NOT NULL CHECK (net_cents > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'returned', 'cancelled')),
    rail_reference TEXT,
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    settled_at TIMESTAMP,
    UNIQUE (batch_id, contributor_id),
    CHECK (net_cents + withheld_cents = gross_cents),
    CHECK (status = 'pending' OR settled_at IS NOT NULL)
);
CREATE INDEX payout_items_batch ON payout_items(batch_id, rail, id);
CREATE INDEX payout_items_contributor ON payout_items(contributor_id, id);

-- Every export file: its content hash, so a re-export is checked byte for byte.
CREATE TABLE payout_exports (
    id BIGSERIAL PRIMARY KEY,
    batch_id BIGINT NOT NULL REFERENCES payout_batches(id),
    format TEXT NOT NULL CHECK (format IN ('nacha', 'paypal_csv', 'paypal_json', 'wise_csv')),
    part INTEGER NOT NULL CHECK (part >= 1),
    sha256 TEXT NOT NULL,
    byte_count BIGINT NOT NULL,
    item_count BIGINT NOT NULL,
    exported_by BIGINT NOT NULL REFERENCES users(id),
    exported_at TIMESTAMP NOT NULL,
    UNIQUE (batch_id, format, part)
);
