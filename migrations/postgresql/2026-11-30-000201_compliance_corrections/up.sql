-- Compliance corrections (issue 16). The same changes as the SQLite migration, made in
-- place.

-- Work authorizations: "noncitizen authorized to work" may have no expiration date
-- ("N/A": refugees, asylees, some FSM/RMI citizens; Form I-9 Section 1, "exp. date,
-- if any"). `reverify_on` is when reverification is due: the earliest of the attested
-- date and the expiry of a List A or List C document that is reverified (M-274 6.1).
-- Documents gain `purged_at`: the retention job deletes the file and the number and
-- keeps the fact.
ALTER TABLE work_authorizations DROP CONSTRAINT work_authorizations_check;
ALTER TABLE work_authorizations ADD COLUMN reverify_on DATE;
UPDATE work_authorizations SET reverify_on = expires_on;
-- Only "noncitizen authorized to work" may carry an expiration date.
ALTER TABLE work_authorizations ADD CONSTRAINT work_authorizations_expiry_check
    CHECK (category = 'noncitizen_authorized' OR expires_on IS NULL);
-- Citizens and noncitizen nationals are never reverified.
ALTER TABLE work_authorizations ADD CONSTRAINT work_authorizations_reverify_check
    CHECK (category NOT IN ('us_citizen', 'noncitizen_national') OR reverify_on IS NULL);
ALTER TABLE work_authorization_documents ADD COLUMN purged_at TIMESTAMP;
ALTER TABLE work_authorization_documents ADD CONSTRAINT work_authorization_documents_purged_check
    CHECK (purged_at IS NULL OR number_enc IS NULL);

-- Reverification follows the document too: the earliest expiry of a reverified List A
-- or List C document presented, for everyone but citizens and noncitizen nationals.
UPDATE work_authorizations SET reverify_on = (
    SELECT MIN(d.expires_on) FROM work_authorization_documents d
    WHERE d.work_authorization_id = work_authorizations.id AND d.expires_on IS NOT NULL
      AND ((d.list = 'A' AND d.document_type IN ('foreign_passport_with_temporary_i551',
            'employment_authorization_document', 'foreign_passport_with_i94', 'fsm_or_rmi_passport_with_i94'))
        OR (d.list = 'C' AND d.document_type = 'dhs_employment_authorization_document')))
WHERE category IN ('lawful_permanent_resident', 'noncitizen_authorized')
  AND EXISTS (
    SELECT 1 FROM work_authorization_documents d
    WHERE d.work_authorization_id = work_authorizations.id AND d.expires_on IS NOT NULL
      AND (work_authorizations.reverify_on IS NULL OR d.expires_on < work_authorizations.reverify_on)
      AND ((d.list = 'A' AND d.document_type IN ('foreign_passport_with_temporary_i551',
            'employment_authorization_document', 'foreign_passport_with_i94', 'fsm_or_rmi_passport_with_i94'))
        OR (d.list = 'C' AND d.document_type = 'dhs_employment_authorization_document')));

-- Files deleted by the I-9 retention job keep their row (hash, size, owner), not their bytes.
ALTER TABLE files ADD COLUMN deleted_at TIMESTAMP;

-- W-9: ITINs go in the SSN box of Form W-9 and are recorded as `itin`; the exempt
-- payee code of line 4 (W-9 instructions, codes 1 to 13).
ALTER TABLE tax_profiles DROP CONSTRAINT tax_profiles_tin_type_check;
ALTER TABLE tax_profiles ADD CONSTRAINT tax_profiles_tin_type_check CHECK (tin_type IN ('ssn', 'itin', 'ein'));
ALTER TABLE tax_profiles ADD COLUMN exempt_payee_code TEXT CHECK (exempt_payee_code IS NULL OR exempt_payee_code IN
    ('1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13'));

-- ACH return reason codes (NACHA Operating Rules, Appendix Four: the RDFI's return
-- codes R01 to R53) on failed and returned items; `returned_at` for a return that
-- arrives after the item was paid.
ALTER TABLE payout_items ADD COLUMN return_code TEXT CHECK (return_code IS NULL OR return_code IN (
        'R01', 'R02', 'R03', 'R04', 'R05', 'R06', 'R07', 'R08', 'R09', 'R10', 'R11', 'R12',
        'R13', 'R14', 'R15', 'R16', 'R17', 'R18', 'R19', 'R20', 'R21', 'R22', 'R23', 'R24',
        'R25', 'R26', 'R27', 'R28', 'R29', 'R30', 'R31', 'R32', 'R33', 'R34', 'R35', 'R36',
        'R37', 'R38', 'R39', 'R40', 'R41', 'R42', 'R43', 'R44', 'R45', 'R46', 'R47', 'R50',
        'R51', 'R52', 'R53'));
ALTER TABLE payout_items ADD COLUMN returned_at TIMESTAMP;

-- Notifications of change (NACHA Appendix Five: change codes C01 to C09, C13, C14)
-- received for a paid ACH item. The corrected data holds account numbers: encrypted.
CREATE TABLE payout_change_notices (
    id BIGSERIAL PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES payout_items(id),
    change_code TEXT NOT NULL CHECK (change_code IN ('C01', 'C02', 'C03', 'C04', 'C05', 'C06', 'C07',
        'C08', 'C09', 'C13', 'C14')),
    corrected_enc TEXT NOT NULL,
    -- `applied`: a corrected method replaced the one paid; `recorded`: nothing in the
    -- method to correct; `method_replaced`: the contributor had changed method since.
    outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'recorded', 'method_replaced')),
    method_id BIGINT NOT NULL REFERENCES payout_methods(id),
    new_method_id BIGINT REFERENCES payout_methods(id),
    recorded_by BIGINT NOT NULL REFERENCES users(id),
    recorded_at TIMESTAMP NOT NULL,
    UNIQUE (item_id, change_code),
    CHECK ((outcome = 'applied') = (new_method_id IS NOT NULL))
);
