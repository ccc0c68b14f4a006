//! Form I-9 document lists (edition 01/20/25). The applicant chooses which documents to
//! present; Gatehouse only checks that the combination is an acceptable one and never
//! asks for a particular document (8 USC 1324b(a)(6), "document abuse").
//!
//! What expires follows the M-274 Handbook for Employers: a document presented must be
//! unexpired (M-274 4.0, "Acceptable Documents": documents must be unexpired; an
//! automatic extension, e.g. of an EAD by a Form I-797C, counts as the date it extends
//! to); reverification (M-274 6.1) follows the expiry of the attested authorization and
//! of the List A or List C document that shows a temporary employment authorization;
//! U.S. citizens, noncitizen nationals and lawful permanent residents who presented a
//! Permanent Resident Card (Form I-551) are never reverified, nor are List B documents.
//! The List B records of a school, clinic or day-care are for people under 18 who cannot
//! present another List B document (M-274 4.2): contributors are adults.

use chrono::NaiveDate;

use super::model::AuthorizationCategory;
use crate::error::FieldError;

crate::text_enum! {
    /// Every document type of the three lists (`native_american_tribal_document` is on
    /// List B and List C); which list accepts which is [`LIST_A`], [`LIST_B`],
    /// [`LIST_C`], and the CHECK on `work_authorization_documents` (list, type).
    pub enum DocumentType {
        UsPassport = "us_passport",
        UsPassportCard = "us_passport_card",
        PermanentResidentCard = "permanent_resident_card",
        ForeignPassportWithTemporaryI551 = "foreign_passport_with_temporary_i551",
        EmploymentAuthorizationDocument = "employment_authorization_document",
        ForeignPassportWithI94 = "foreign_passport_with_i94",
        FsmOrRmiPassportWithI94 = "fsm_or_rmi_passport_with_i94",
        DriversLicense = "drivers_license",
        StateIdCard = "state_id_card",
        SchoolIdCard = "school_id_card",
        VoterRegistrationCard = "voter_registration_card",
        UsMilitaryCard = "us_military_card",
        MilitaryDependentIdCard = "military_dependent_id_card",
        MerchantMarinerCard = "merchant_mariner_card",
        NativeAmericanTribalDocument = "native_american_tribal_document",
        CanadianDriversLicense = "canadian_drivers_license",
        SchoolRecordMinor = "school_record_minor",
        MedicalRecordMinor = "medical_record_minor",
        DayCareRecordMinor = "day_care_record_minor",
        SocialSecurityCard = "social_security_card",
        CertificationOfReportOfBirthAbroad = "certification_of_report_of_birth_abroad",
        BirthCertificate = "birth_certificate",
        UsCitizenIdCard = "us_citizen_id_card",
        ResidentCitizenIdCard = "resident_citizen_id_card",
        DhsEmploymentAuthorizationDocument = "dhs_employment_authorization_document",
    }
}

/// Documents that establish both identity and employment authorization.
pub const LIST_A: &[DocumentType] = &[
    DocumentType::UsPassport,
    DocumentType::UsPassportCard,
    DocumentType::PermanentResidentCard,
    DocumentType::ForeignPassportWithTemporaryI551,
    DocumentType::EmploymentAuthorizationDocument,
    DocumentType::ForeignPassportWithI94,
    DocumentType::FsmOrRmiPassportWithI94,
];

/// Documents that establish identity.
pub const LIST_B: &[DocumentType] = &[
    DocumentType::DriversLicense,
    DocumentType::StateIdCard,
    DocumentType::SchoolIdCard,
    DocumentType::VoterRegistrationCard,
    DocumentType::UsMilitaryCard,
    DocumentType::MilitaryDependentIdCard,
    DocumentType::MerchantMarinerCard,
    DocumentType::NativeAmericanTribalDocument,
    DocumentType::CanadianDriversLicense,
    DocumentType::SchoolRecordMinor,
    DocumentType::MedicalRecordMinor,
    DocumentType::DayCareRecordMinor,
];

/// List B records that only people under 18 may present (Form I-9, List B, "For
/// persons under age 18 who are unable to present a document listed above").
pub const MINORS_ONLY: &[DocumentType] =
    &[DocumentType::SchoolRecordMinor, DocumentType::MedicalRecordMinor, DocumentType::DayCareRecordMinor];

/// List A and List C documents whose expiry ends the employment authorization they show,
/// so reverification follows it (M-274 6.1): a foreign passport with a temporary I-551
/// stamp or MRIV, an Employment Authorization Document (Form I-766), a foreign passport
/// with Form I-94, and an employment authorization document issued by DHS (List C #7).
/// A U.S. passport or passport card, a Permanent Resident Card and the other List C
/// documents are never reverified.
pub fn reverified(list: DocList, doc_type: DocumentType) -> bool {
    use DocumentType::*;
    match list {
        DocList::A => matches!(
            doc_type,
            ForeignPassportWithTemporaryI551
                | EmploymentAuthorizationDocument
                | ForeignPassportWithI94
                | FsmOrRmiPassportWithI94
        ),
        DocList::C => doc_type == DhsEmploymentAuthorizationDocument,
        DocList::B => false,
    }
}

/// Documents that always carry an expiration date: the Form I-766 card and the
/// temporary I-551 stamp (or MRIV) show one. Others may or may not (a Form I-94 may say
/// "D/S", a refugee's I-94 has none).
pub fn expiry_required(list: DocList, doc_type: DocumentType) -> bool {
    list == DocList::A
        && matches!(
            doc_type,
            DocumentType::EmploymentAuthorizationDocument | DocumentType::ForeignPassportWithTemporaryI551
        )
}

/// One document as presented: its list, type and expiration date.
#[derive(Debug, Clone, Copy)]
pub struct Presented {
    pub list: DocList,
    pub doc_type: DocumentType,
    pub expires_on: Option<NaiveDate>,
}

/// The checks on each document beyond its list: no minors' records, an expiry where the
/// document always shows one, and no expired document (one valid through `today` is
/// still acceptable today).
pub fn check_presented(docs: &[Presented], today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for d in docs {
        let f = d.list.field();
        if d.list == DocList::B && MINORS_ONLY.contains(&d.doc_type) {
            errors.push(FieldError::new(
                &format!("{f}_type"),
                "minor_document",
                "school, medical and day-care records are List B documents for people under 18 only; \
                 present another List B document (e.g. a driver's license or ID card)",
            ));
        }
        match d.expires_on {
            None if expiry_required(d.list, d.doc_type) => errors.push(FieldError::new(
                &format!("{f}_expires_on"),
                "required",
                "give the expiration date shown on the document (or the date an automatic extension runs to)",
            )),
            Some(date) if date < today => errors.push(FieldError::new(
                &format!("{f}_expires_on"),
                "document_expired",
                "an expired document is not acceptable; present an unexpired one of your choice",
            )),
            _ => {}
        }
    }
    errors
}

/// When reverification is due: the earliest of the attested expiration date and the
/// expiry of a reverified List A or List C document presented; never for citizens and
/// noncitizen nationals (M-274 6.1). `None`: never reverified.
pub fn reverify_on(
    category: AuthorizationCategory,
    attested: Option<NaiveDate>,
    docs: &[Presented],
) -> Option<NaiveDate> {
    if matches!(category, AuthorizationCategory::UsCitizen | AuthorizationCategory::NoncitizenNational) {
        return None;
    }
    docs.iter().filter(|d| reverified(d.list, d.doc_type)).filter_map(|d| d.expires_on).chain(attested).min()
}

/// Documents that establish employment authorization.
pub const LIST_C: &[DocumentType] = &[
    DocumentType::SocialSecurityCard,
    DocumentType::CertificationOfReportOfBirthAbroad,
    DocumentType::BirthCertificate,
    DocumentType::NativeAmericanTribalDocument,
    DocumentType::UsCitizenIdCard,
    DocumentType::ResidentCitizenIdCard,
    DocumentType::DhsEmploymentAuthorizationDocument,
];

crate::text_enum! {
    /// One presented document: the list it is presented under and its type.
    pub enum DocList {
        A = "A",
        B = "B",
        C = "C",
    }
}

impl DocList {
    fn allowed(self) -> &'static [DocumentType] {
        match self {
            Self::A => LIST_A,
            Self::B => LIST_B,
            Self::C => LIST_C,
        }
    }
    pub fn field(self) -> &'static str {
        match self {
            Self::A => "list_a",
            Self::B => "list_b",
            Self::C => "list_c",
        }
    }
}

/// Checks the presented combination. First verification: one List A document, or one
/// List B plus one List C document. Reverification (SPEC §3): one List A or one List C
/// document (a List B document may accompany the List C one).
pub fn validate(presented: &[(DocList, DocumentType)], reverification: bool) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    for (list, doc_type) in presented {
        if !list.allowed().contains(doc_type) {
            errors.push(FieldError::new(
                &format!("{}_type", list.field()),
                "unknown_document",
                format!("{doc_type} is not a List {} document", list.as_str()),
            ));
        }
    }
    let has = |l: DocList| presented.iter().filter(|(x, _)| *x == l).count();
    let (a, b, c) = (has(DocList::A), has(DocList::B), has(DocList::C));
    let valid = match (a, b, c) {
        (1, 0, 0) => true,
        (0, 1, 1) => true,
        (0, 0, 1) => reverification,
        _ => false,
    };
    if !valid {
        let expected = if reverification {
            "present one List A document, or one List C document"
        } else {
            "present one List A document, or one List B document together with one List C document"
        };
        errors.push(FieldError::new("documents", "invalid_combination", expected));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::DocList::*;
    use super::*;

    #[test]
    fn accepted_combinations() {
        assert!(check(&[(A, "us_passport")], false).is_ok());
        assert!(check(&[(B, "drivers_license"), (C, "social_security_card")], false).is_ok());
        assert!(check(&[(C, "dhs_employment_authorization_document")], true).is_ok());
        assert!(check(&[(A, "employment_authorization_document")], true).is_ok());
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn doc(list: DocList, doc_type: &str, expires_on: Option<NaiveDate>) -> Presented {
        Presented { list, doc_type: DocumentType::parse(doc_type).unwrap(), expires_on }
    }

    /// [`validate`] of documents named by their text.
    fn check(presented: &[(DocList, &str)], reverification: bool) -> Result<(), Vec<FieldError>> {
        let typed: Vec<_> = presented.iter().map(|(l, t)| (*l, DocumentType::parse(t).unwrap())).collect();
        validate(&typed, reverification)
    }

    #[test]
    fn every_listed_type_is_a_document_type_and_every_type_is_listed() {
        for t in DocumentType::ALL {
            assert!([LIST_A, LIST_B, LIST_C].iter().any(|l| l.contains(t)), "{t} is on no list");
        }
        assert_eq!(DocumentType::parse("library_card"), None);
    }

    #[test]
    fn expired_documents_are_refused_unexpired_ones_accepted() {
        let today = d(2026, 11, 30);
        let ead_2020 = [doc(A, "employment_authorization_document", Some(d(2020, 6, 30)))];
        let errors = check_presented(&ead_2020, today);
        assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("list_a_expires_on", "document_expired"));
        assert!(check_presented(&[doc(A, "employment_authorization_document", Some(today))], today).is_empty());
        assert!(
            !check_presented(&[doc(A, "employment_authorization_document", Some(d(2026, 11, 29)))], today).is_empty()
        );
        let no_date = check_presented(&[doc(A, "employment_authorization_document", None)], today);
        assert_eq!(no_date[0].code, "required");
        assert!(check_presented(&[doc(C, "social_security_card", None)], today).is_empty());
        assert!(check_presented(&[doc(A, "us_passport", None)], today).is_empty());
        let license = check_presented(&[doc(B, "drivers_license", Some(d(2025, 1, 1)))], today);
        assert_eq!(license[0].code, "document_expired", "List B documents must be unexpired too");
    }

    #[test]
    fn minors_records_are_refused() {
        let today = d(2026, 11, 30);
        for minor in MINORS_ONLY {
            let errors = check_presented(&[doc(B, minor.as_str(), None)], today);
            assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("list_b_type", "minor_document"));
        }
        assert!(check_presented(&[doc(B, "school_id_card", None)], today).is_empty());
    }

    #[test]
    fn reverification_follows_the_authorization_and_the_document() {
        use AuthorizationCategory::{LawfulPermanentResident, NoncitizenAuthorized, NoncitizenNational, UsCitizen};
        let stamp = [doc(A, "foreign_passport_with_temporary_i551", Some(d(2027, 8, 1)))];
        assert_eq!(reverify_on(LawfulPermanentResident, None, &stamp), Some(d(2027, 8, 1)), "temporary I-551 stamp");
        let card = [doc(A, "permanent_resident_card", Some(d(2030, 1, 1)))];
        assert_eq!(reverify_on(LawfulPermanentResident, None, &card), None, "a Form I-551 is never reverified");
        let ead = [doc(A, "employment_authorization_document", Some(d(2027, 3, 1)))];
        assert_eq!(reverify_on(NoncitizenAuthorized, Some(d(2028, 1, 1)), &ead), Some(d(2027, 3, 1)));
        assert_eq!(reverify_on(NoncitizenAuthorized, Some(d(2026, 12, 31)), &ead), Some(d(2026, 12, 31)));
        // A refugee ("N/A") with a driver's license and an unrestricted Social Security card.
        let b_c = [doc(B, "drivers_license", Some(d(2029, 1, 1))), doc(C, "social_security_card", None)];
        assert_eq!(reverify_on(NoncitizenAuthorized, None, &b_c), None);
        let dhs = [doc(B, "state_id_card", None), doc(C, "dhs_employment_authorization_document", Some(d(2027, 5, 5)))];
        assert_eq!(reverify_on(NoncitizenAuthorized, None, &dhs), Some(d(2027, 5, 5)));
        let passport = [doc(A, "us_passport", Some(d(2027, 1, 1)))];
        assert_eq!(reverify_on(UsCitizen, None, &passport), None);
        assert_eq!(reverify_on(NoncitizenNational, None, &ead), None);
    }

    #[test]
    fn refused_combinations() {
        let err = check(&[(B, "drivers_license")], false).unwrap_err();
        assert_eq!(err[0].field, "documents");
        assert!(check(&[(A, "us_passport"), (C, "social_security_card")], false).is_err());
        assert!(check(&[(C, "social_security_card")], false).is_err());
        assert!(check(&[], false).is_err());
        let err = check(&[(A, "drivers_license")], false).unwrap_err();
        assert_eq!(err[0].field, "list_a_type");
    }
}
