use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
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
    pub reason_code: Option<String>,
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
    pub reason_code: String,
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
    pub reason_code: &'a str,
    pub note: &'a str,
    pub status: RemovalStatus,
    pub proposed_by: i64,
    pub proposed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialOutcome {
    Verify,
    Reject,
    RequestMoreInfo,
}

impl CredentialOutcome {
    pub fn reason_codes(self) -> &'static [&'static str] {
        match self {
            Self::Verify => &["credential_verified"],
            Self::Reject => &[
                "not_verifiable",
                "issuer_not_recognized",
                "information_mismatch",
                "expired",
                "suspected_fraud",
                "other",
            ],
            Self::RequestMoreInfo => &["document_unreadable", "document_incomplete", "missing_pages", "other"],
        }
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
