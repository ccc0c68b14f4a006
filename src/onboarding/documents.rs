//! Form I-9 document lists (edition 01/20/25). The applicant chooses which documents to
//! present; Gatehouse only checks that the combination is an acceptable one and never
//! asks for a particular document (8 USC 1324b(a)(6), "document abuse").

use crate::error::FieldError;

pub const LIST_A: &[&str] = &[
    "us_passport",
    "us_passport_card",
    "permanent_resident_card",
    "foreign_passport_with_temporary_i551",
    "employment_authorization_document",
    "foreign_passport_with_i94",
    "fsm_or_rmi_passport_with_i94",
];

/// Documents that establish identity.
pub const LIST_B: &[&str] = &[
    "drivers_license",
    "state_id_card",
    "school_id_card",
    "voter_registration_card",
    "us_military_card",
    "military_dependent_id_card",
    "merchant_mariner_card",
    "native_american_tribal_document",
    "canadian_drivers_license",
    "school_record_minor",
    "medical_record_minor",
    "day_care_record_minor",
];

/// Documents that establish employment authorization.
pub const LIST_C: &[&str] = &[
    "social_security_card",
    "certification_of_report_of_birth_abroad",
    "birth_certificate",
    "native_american_tribal_document",
    "us_citizen_id_card",
    "resident_citizen_id_card",
    "dhs_employment_authorization_document",
];

/// One presented document: the list it is presented under and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocList {
    A,
    B,
    C,
}

impl DocList {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
        }
    }
    fn allowed(self) -> &'static [&'static str] {
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
pub fn validate(presented: &[(DocList, &str)], reverification: bool) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    for (list, doc_type) in presented {
        if !list.allowed().contains(doc_type) {
            errors.push(FieldError::new(
                &format!("{}_type", list.field()),
                "unknown_document",
                format!("{doc_type:?} is not a List {} document", list.as_str()),
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
        assert!(validate(&[(A, "us_passport")], false).is_ok());
        assert!(validate(&[(B, "drivers_license"), (C, "social_security_card")], false).is_ok());
        assert!(validate(&[(C, "dhs_employment_authorization_document")], true).is_ok());
        assert!(validate(&[(A, "employment_authorization_document")], true).is_ok());
    }

    #[test]
    fn refused_combinations() {
        let err = validate(&[(B, "drivers_license")], false).unwrap_err();
        assert_eq!(err[0].field, "documents");
        assert!(validate(&[(A, "us_passport"), (C, "social_security_card")], false).is_err());
        assert!(validate(&[(C, "social_security_card")], false).is_err());
        assert!(validate(&[], false).is_err());
        let err = validate(&[(A, "drivers_license")], false).unwrap_err();
        assert_eq!(err[0].field, "list_a_type");
    }
}
