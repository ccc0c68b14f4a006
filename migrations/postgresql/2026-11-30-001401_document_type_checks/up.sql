-- An I-9 document's type is a closed set per list (issue 17): `DocumentType` and the
-- lists LIST_A, LIST_B, LIST_C in src/onboarding/documents.rs (Form I-9, edition
-- 01/20/25). The CHECK holds the pair (list, type), so a read never meets a type the
-- enum cannot name, nor a List B type filed under List A.
ALTER TABLE work_authorization_documents ADD CONSTRAINT work_authorization_documents_type_check
    CHECK (
        (list = 'A' AND document_type IN (
            'us_passport', 'us_passport_card', 'permanent_resident_card',
            'foreign_passport_with_temporary_i551', 'employment_authorization_document',
            'foreign_passport_with_i94', 'fsm_or_rmi_passport_with_i94'))
        OR (list = 'B' AND document_type IN (
            'drivers_license', 'state_id_card', 'school_id_card',
            'voter_registration_card', 'us_military_card', 'military_dependent_id_card',
            'merchant_mariner_card', 'native_american_tribal_document',
            'canadian_drivers_license', 'school_record_minor', 'medical_record_minor',
            'day_care_record_minor'))
        OR (list = 'C' AND document_type IN (
            'social_security_card', 'certification_of_report_of_birth_abroad',
            'birth_certificate', 'native_american_tribal_document', 'us_citizen_id_card',
            'resident_citizen_id_card', 'dhs_employment_authorization_document')));
