use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{contributor_profiles, work_authorization_documents, work_authorizations};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contributor_profiles, treat_none_as_null = true)]
pub struct Profile {
    pub user_id: i64,
    pub legal_name: Option<String>,
    /// AES-256-GCM ciphertext of the ISO date.
    pub date_of_birth_enc: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub updated_at: NaiveDateTime,
}

/// The columns one `PATCH /me` sets: `None` leaves a column as it is (the row may have
/// been changed by a concurrent request since it was read, so a patch never writes back
/// columns it does not change). `address_line2` is the one column a patch may clear.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = contributor_profiles)]
pub struct ProfileChanges {
    pub legal_name: Option<String>,
    pub date_of_birth_enc: Option<String>,
    pub address_line1: Option<String>,
    pub address_line2: Option<Option<String>>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

impl Profile {
    pub fn empty(user_id: i64, now: NaiveDateTime) -> Self {
        Self {
            user_id,
            legal_name: None,
            date_of_birth_enc: None,
            address_line1: None,
            address_line2: None,
            city: None,
            region: None,
            postal_code: None,
            country: None,
            phone: None,
            updated_at: now,
        }
    }

    /// The fields still missing for a complete profile, by JSON name.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let checks: [(&'static str, &Option<String>); 7] = [
            ("legal_name", &self.legal_name),
            ("date_of_birth", &self.date_of_birth_enc),
            ("address.line1", &self.address_line1),
            ("address.city", &self.city),
            ("address.region", &self.region),
            ("address.postal_code", &self.postal_code),
            ("phone", &self.phone),
        ];
        for (name, value) in checks {
            if value.is_none() {
                out.push(name);
            }
        }
        out
    }
}

crate::text_enum! {
    /// The four Form I-9 attestation categories, plus `none` (not authorized), which is
    /// accepted as an answer and rejects the application at once.
    pub enum AuthorizationCategory {
        UsCitizen = "us_citizen",
        NoncitizenNational = "noncitizen_national",
        LawfulPermanentResident = "lawful_permanent_resident",
        NoncitizenAuthorized = "noncitizen_authorized",
        None = "none",
    }
}

impl AuthorizationCategory {
    /// Only "noncitizen authorized to work" may have an expiration date ("exp. date, if
    /// any": refugees, asylees and some FSM/RMI citizens have none and write N/A).
    pub fn may_expire(self) -> bool {
        self == Self::NoncitizenAuthorized
    }
}

crate::text_enum! {
    pub enum AuthorizationStatus {
        Attested = "attested",
        PendingReview = "pending_review",
        MoreInfoRequested = "more_info_requested",
        Verified = "verified",
        Rejected = "rejected",
        Superseded = "superseded",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = work_authorizations)]
pub struct WorkAuthorization {
    pub id: i64,
    pub user_id: i64,
    pub category: AuthorizationCategory,
    pub expires_on: Option<NaiveDate>,
    pub residence_country: String,
    pub reverification: bool,
    pub status: AuthorizationStatus,
    pub attested_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    /// When a reviewer verified it (kept after a renewal supersedes it).
    pub verified_at: Option<NaiveDateTime>,
    /// When reverification is due: the earliest of the attested date and the expiry of a
    /// reverified List A or List C document (`documents::reverify_on`); null: never.
    pub reverify_on: Option<NaiveDate>,
}

impl WorkAuthorization {
    pub fn status(&self) -> AuthorizationStatus {
        self.status
    }
}

#[derive(Insertable)]
#[diesel(table_name = work_authorizations)]
pub struct NewWorkAuthorization<'a> {
    pub user_id: i64,
    pub category: AuthorizationCategory,
    pub expires_on: Option<NaiveDate>,
    pub residence_country: &'a str,
    pub reverification: bool,
    pub status: AuthorizationStatus,
    pub attested_at: NaiveDateTime,
    pub reverify_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = work_authorization_documents)]
pub struct AuthorizationDocument {
    pub id: i64,
    pub work_authorization_id: i64,
    pub list: super::documents::DocList,
    pub document_type: super::documents::DocumentType,
    pub number_enc: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub file_id: i64,
    pub created_at: NaiveDateTime,
    /// Set by the I-9 retention job, which deleted the file and the number.
    pub purged_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = work_authorization_documents)]
pub struct NewAuthorizationDocument {
    pub work_authorization_id: i64,
    pub list: super::documents::DocList,
    pub document_type: super::documents::DocumentType,
    pub number_enc: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub file_id: i64,
    pub created_at: NaiveDateTime,
}

crate::text_enum! {
    /// A reviewer's decision on a work authorization.
    pub enum ReviewOutcome {
        Verify = "verify",
        Reject = "reject",
        RequestMoreInfo = "request_more_info",
    }
}

crate::text_enum! {
    /// The reason a reviewer gives for a work-authorization decision; which ones fit
    /// which outcome is [`ReviewOutcome::reason_codes`]. Stored as text in
    /// `decisions.reason_code`, a column shared with open vocabularies.
    pub enum AuthorizationReason {
        DocumentsVerified = "documents_verified",
        DocumentNotAcceptable = "document_not_acceptable",
        DocumentExpired = "document_expired",
        InformationMismatch = "information_mismatch",
        DocumentUnreadable = "document_unreadable",
        DocumentIncomplete = "document_incomplete",
        SuspectedFraud = "suspected_fraud",
        Other = "other",
    }
}

impl ReviewOutcome {
    /// The reason codes a reviewer may give for this outcome.
    pub fn reason_codes(self) -> &'static [AuthorizationReason] {
        use AuthorizationReason::*;
        match self {
            Self::Verify => &[DocumentsVerified],
            Self::Reject => &[
                DocumentNotAcceptable,
                DocumentExpired,
                InformationMismatch,
                DocumentUnreadable,
                SuspectedFraud,
                Other,
            ],
            Self::RequestMoreInfo => &[DocumentUnreadable, DocumentIncomplete, InformationMismatch, Other],
        }
    }

    /// [`ReviewOutcome::reason_codes`] as text, for the console's form.
    pub fn reason_names(self) -> Vec<&'static str> {
        self.reason_codes().iter().map(|r| r.as_str()).collect()
    }

    /// The reason `code` names if it fits this outcome; else a 422 naming `reason_code`.
    pub fn reason(self, code: &str) -> AppResult<AuthorizationReason> {
        AuthorizationReason::parse(code).filter(|r| self.reason_codes().contains(r)).ok_or_else(|| {
            AppError::field("reason_code", "unknown_reason", format!("one of: {}", self.reason_names().join(", ")))
        })
    }

    pub fn decision_outcome(self) -> crate::decisions::DecisionOutcome {
        use crate::decisions::DecisionOutcome;
        match self {
            Self::Verify => DecisionOutcome::Verified,
            Self::Reject => DecisionOutcome::Rejected,
            Self::RequestMoreInfo => DecisionOutcome::MoreInfoRequested,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_must_be_known_and_fit_the_outcome() {
        assert_eq!(ReviewOutcome::Verify.reason("documents_verified").unwrap(), AuthorizationReason::DocumentsVerified);
        assert_eq!(ReviewOutcome::Reject.reason("suspected_fraud").unwrap(), AuthorizationReason::SuspectedFraud);
        for (outcome, code) in [
            (ReviewOutcome::Verify, "suspected_fraud"),
            (ReviewOutcome::RequestMoreInfo, "document_expired"),
            (ReviewOutcome::Reject, "looks_fine"),
        ] {
            let Err(AppError::Validation(errors)) = outcome.reason(code) else { panic!("{code} accepted") };
            assert_eq!((errors[0].field.as_str(), errors[0].code.as_str()), ("reason_code", "unknown_reason"));
        }
        // Every reason fits some outcome.
        for r in AuthorizationReason::ALL {
            assert!(
                [ReviewOutcome::Verify, ReviewOutcome::Reject, ReviewOutcome::RequestMoreInfo]
                    .iter()
                    .any(|o| o.reason_codes().contains(r)),
                "{r}"
            );
        }
    }
}
