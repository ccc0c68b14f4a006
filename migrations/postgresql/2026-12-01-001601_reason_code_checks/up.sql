-- A credential's reason code and a removal proposal's are closed sets (issue 17):
-- `CredentialReason` (the reviewer's reasons, plus the system's `confirmed_false` when a
-- removal for a false credential is confirmed) and `RemovalReason` in
-- src/credentials/model.rs. A read never meets a value the enum cannot name.
ALTER TABLE credentials ADD CONSTRAINT credentials_reason_code_check
    CHECK (reason_code IN ('credential_verified', 'not_verifiable', 'issuer_not_recognized',
        'information_mismatch', 'expired', 'suspected_fraud', 'document_unreadable',
        'document_incomplete', 'missing_pages', 'other', 'confirmed_false'));
ALTER TABLE removal_proposals ADD CONSTRAINT removal_proposals_reason_code_check
    CHECK (reason_code IN ('false_credential'));
