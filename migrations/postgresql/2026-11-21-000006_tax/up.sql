-- W-9 tax profiles (versioned), B-notices, and tax data kept as rows, not code:
-- 1099-NEC thresholds by payment year, rails reported by a third party, rates.
CREATE TABLE tax_profiles (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    version INTEGER NOT NULL,
    legal_name TEXT NOT NULL,
    business_name TEXT,
    tax_classification TEXT NOT NULL CHECK (tax_classification IN ('individual', 'c_corporation',
        's_corporation', 'partnership', 'trust_estate', 'llc_c', 'llc_s', 'llc_p', 'other')),
    address_line1 TEXT NOT NULL,
    address_line2 TEXT,
    city TEXT NOT NULL,
    region TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    tin_type TEXT NOT NULL CHECK (tin_type IN ('ssn', 'ein')),
    tin_enc TEXT NOT NULL,
    tin_last4 TEXT NOT NULL,
    subject_to_backup_withholding BOOLEAN NOT NULL,
    signature_name TEXT NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    signed_ip TEXT,
    created_at TIMESTAMP NOT NULL,
    -- Each change is a new version; the 1099 uses the version in force.
    UNIQUE (user_id, version)
);

CREATE TABLE b_notices (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    notice TEXT NOT NULL CHECK (notice IN ('first', 'second')),
    received_on DATE NOT NULL,
    note TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users(id),
    recorded_at TIMESTAMP NOT NULL,
    cleared_at TIMESTAMP,
    cleared_by BIGINT REFERENCES users(id),
    cleared_reason TEXT
);
CREATE INDEX b_notices_user ON b_notices(user_id);

CREATE TABLE tax_thresholds (
    payment_year BIGINT PRIMARY KEY,
    threshold_cents BIGINT NOT NULL CHECK (threshold_cents > 0),
    source TEXT NOT NULL
);
INSERT INTO tax_thresholds (payment_year, threshold_cents, source) VALUES
    (2024, 60000, '26 USC 6041(a): $600'),
    (2025, 60000, '26 USC 6041(a): $600 for payments through 2025'),
    (2026, 200000, '26 USC 6041(a) as amended: $2,000 for payments made in 2026');

CREATE TABLE payout_rails (
    rail TEXT PRIMARY KEY CHECK (rail IN ('paypal', 'wise', 'ach')),
    reported_by_rail BOOLEAN NOT NULL,
    reporting_note TEXT NOT NULL
);
INSERT INTO payout_rails (rail, reported_by_rail, reporting_note) VALUES
    ('paypal', TRUE, 'Paid through a third-party settlement organization (PayPal), which reports it on Form 1099-K; excluded from the payer''s 1099-NEC.'),
    ('wise', FALSE, 'Bank transfer through Wise: reportable on 1099-NEC.'),
    ('ach', FALSE, 'ACH bank transfer: reportable on 1099-NEC.');

CREATE TABLE tax_parameters (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO tax_parameters (name, value) VALUES ('backup_withholding_rate', '0.24');
