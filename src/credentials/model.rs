use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{credential_rules, credentials, removal_proposals};

crate::text_enum! {
    pub enum CredentialKind {
        Degree = "degree",
        Transcript = "transcript",
        Certification = "certification",
        ProfessionalLicense = "professional_license",
    }
}

impl CredentialKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Degree => "degree",
            Self::Transcript => "transcript",
            Self::Certification => "certification",
            Self::ProfessionalLicense => "professional license",
        }
    }
}

crate::text_enum! {
    pub enum DegreeLevel {
        Bachelor = "bachelor",
        Master = "master",
        Doctorate = "doctorate",
        Professional = "professional",
    }
}

crate::text_enum! {
    pub enum CredentialStatus {
        PendingReview = "pending_review",
        Verified = "verified",
        Rejected = "rejected",
        MoreInfoRequested = "more_info_requested",
        /// Replaced by a re-upload after a request for more information.
        Superseded = "superseded",
        /// Expired after verification; what it granted has lapsed.
        Lapsed = "lapsed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credentials)]
pub struct Credential {
    pub id: i64,
    pub user_id: i64,
    pub kind: CredentialKind,
    pub level: Option<DegreeLevel>,
    pub domain: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub file_id: i64,
    pub status: CredentialStatus,
    pub flagged: bool,
    pub flag_reason: Option<String>,
    pub replaces_id: Option<i64>,
    pub submitted_at: NaiveDateTime,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub reason_code: Option<CredentialReason>,
    pub note: Option<String>,
}

impl Credential {
    pub fn status(&self) -> CredentialStatus {
        self.status
    }
    /// e.g. "master degree in law".
    pub fn describe(&self) -> String {
        let kind = self.kind.label();
        match &self.level {
            Some(level) => format!("{level} {kind} in {}", self.domain),
            None => format!("{kind} in {}", self.domain),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = credentials)]
pub struct NewCredential<'a> {
    pub user_id: i64,
    pub kind: CredentialKind,
    pub level: Option<DegreeLevel>,
    pub domain: &'a str,
    pub title: &'a str,
    pub issuer: &'a str,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub file_id: i64,
    pub status: CredentialStatus,
    pub flagged: bool,
    pub flag_reason: Option<&'a str>,
    pub replaces_id: Option<i64>,
    pub submitted_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = credential_rules)]
pub struct CredentialRule {
    pub id: i64,
    pub kind: CredentialKind,
    /// Degree level, or null for any.
    pub level: Option<DegreeLevel>,
    pub domain: String,
    pub grants_domain: String,
    pub grants_tier: crate::qualifications::model::Tier,
    pub created_by: i64,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = credential_rules)]
pub struct NewCredentialRule<'a> {
    pub kind: CredentialKind,
    pub level: Option<DegreeLevel>,
    pub domain: &'a str,
    pub grants_domain: &'a str,
    pub grants_tier: crate::qualifications::model::Tier,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

crate::text_enum! {
    /// Why a removal is proposed (`removal_proposals.reason_code`, under a CHECK); also
    /// the reason code of the removal's decision and of the account's status.
    pub enum RemovalReason {
        /// The contributor presented a false credential.
        FalseCredential = "false_credential",
    }
}

crate::text_enum! {
    /// Where a proposal to remove a contributor is.
    pub enum RemovalStatus {
        Proposed = "proposed",
        Confirmed = "confirmed",
        Withdrawn = "withdrawn",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = removal_proposals)]
pub struct RemovalProposal {
    pub id: i64,
    pub user_id: i64,
    pub credential_id: Option<i64>,
    pub reason_code: RemovalReason,
    pub note: String,
    pub status: RemovalStatus,
    pub proposed_by: i64,
    #[serde(with = "crate::clock::utc")]
    pub proposed_at: NaiveDateTime,
    pub confirmed_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub confirmed_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = removal_proposals)]
pub struct NewRemovalProposal<'a> {
    pub user_id: i64,
    pub credential_id: Option<i64>,
    pub reason_code: RemovalReason,
    pub note: &'a str,
    pub status: RemovalStatus,
    pub proposed_by: i64,
    pub proposed_at: NaiveDateTime,
}

crate::text_enum! {
    /// A reviewer's decision on a credential.
    pub enum CredentialOutcome {
        Verify = "verify",
        Reject = "reject",
        RequestMoreInfo = "request_more_info",
    }
}

crate::text_enum! {
    /// The reason a reviewer gives for a credential decision; which ones fit which
    /// outcome is [`CredentialOutcome::reason_codes`]. Stored as text in
    /// `credentials.reason_code` (under a CHECK holding this set) and
    /// `decisions.reason_code`.
    pub enum CredentialReason {
        CredentialVerified = "credential_verified",
        NotVerifiable = "not_verifiable",
        IssuerNotRecognized = "issuer_not_recognized",
        InformationMismatch = "information_mismatch",
        Expired = "expired",
        SuspectedFraud = "suspected_fraud",
        DocumentUnreadable = "document_unreadable",
        DocumentIncomplete = "document_incomplete",
        MissingPages = "missing_pages",
        Other = "other",
        /// The system's, never a reviewer's (no outcome lists it): a confirmed removal
        /// found the credential false.
        ConfirmedFalse = "confirmed_false",
    }
}

impl CredentialOutcome {
    pub fn reason_codes(self) -> &'static [CredentialReason] {
        use CredentialReason::*;
        match self {
            Self::Verify => &[CredentialVerified],
            Self::Reject => &[NotVerifiable, IssuerNotRecognized, InformationMismatch, Expired, SuspectedFraud, Other],
            Self::RequestMoreInfo => &[DocumentUnreadable, DocumentIncomplete, MissingPages, Other],
        }
    }

    /// [`CredentialOutcome::reason_codes`] as text, for the console's form.
    pub fn reason_names(self) -> Vec<&'static str> {
        self.reason_codes().iter().map(|r| r.as_str()).collect()
    }

    /// The reason `code` names if it fits this outcome; else a 422 naming `reason_code`.
    pub fn reason(self, code: &str) -> crate::error::AppResult<CredentialReason> {
        CredentialReason::parse(code).filter(|r| self.reason_codes().contains(r)).ok_or_else(|| {
            crate::error::AppError::field(
                "reason_code",
                "unknown_reason",
                format!("one of: {}", self.reason_names().join(", ")),
            )
        })
    }
    /// The decision this outcome records.
    pub fn decision_outcome(self) -> crate::decisions::DecisionOutcome {
        use crate::decisions::DecisionOutcome;
        match self {
            Self::Verify => DecisionOutcome::Verified,
            Self::Reject => DecisionOutcome::Rejected,
            Self::RequestMoreInfo => DecisionOutcome::MoreInfoRequested,
        }
    }
    pub fn status(self) -> CredentialStatus {
        match self {
            Self::Verify => CredentialStatus::Verified,
            Self::Reject => CredentialStatus::Rejected,
            Self::RequestMoreInfo => CredentialStatus::MoreInfoRequested,
        }
    }
}
