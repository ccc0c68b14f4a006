-- Issued 1099-NEC forms: one row per payee, year and version; a correction is a new
-- version flagged as such, never an overwrite.
CREATE TABLE tax_forms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    tax_year BIGINT NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    corrected BOOLEAN NOT NULL,
    reportable_cents BIGINT NOT NULL CHECK (reportable_cents >= 0),
    excluded_cents BIGINT NOT NULL CHECK (excluded_cents >= 0),
    federal_withheld_cents BIGINT NOT NULL CHECK (federal_withheld_cents >= 0),
    state TEXT,
    tax_profile_id BIGINT REFERENCES tax_profiles(id),
    issued_at TIMESTAMP NOT NULL,
    issued_by BIGINT REFERENCES users(id),
    UNIQUE (user_id, tax_year, version),
    CHECK (corrected = (version > 1))
);
CREATE INDEX tax_forms_year ON tax_forms(tax_year, user_id);
