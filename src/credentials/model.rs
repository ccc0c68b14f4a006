use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{credential_rules, credentials, removal_proposals};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    Degree,
    Transcript,
    Certification,
    ProfessionalLicense,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Degree => "degree",
            Self::Transcript => "transcript",
            Self::Certification => "certification",
            Self::ProfessionalLicense => "professional_license",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "degree" => Self::Degree,
            "transcript" => Self::Transcript,
            "certification" => Self::Certification,
            "professional_license" => Self::ProfessionalLicense,
            _ => return None,
        })
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Degree => "degree",
            Self::Transcript => "transcript",
            Self::Certification => "certification",
            Self::ProfessionalLicense => "professional license",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DegreeLevel {
    Bachelor,
    Master,
    Doctorate,
    Professional,
}

impl DegreeLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bachelor => "bachelor",
            Self::Master => "master",
            Self::Doctorate => "doctorate",
            Self::Professional => "professional",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "bachelor" => Self::Bachelor,
            "master" => Self::Master,
            "doctorate" => Self::Doctorate,
            "professional" => Self::Professional,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    PendingReview,
    Verified,
    Rejected,
    MoreInfoRequested,
    /// Replaced by a re-upload after a request for more information.
    Superseded,
    /// Expired after verification; what it granted has lapsed.
    Lapsed,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingReview => "pending_review",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
            Self::MoreInfoRequested => "more_info_requested",
            Self::Superseded => "superseded",
            Self::Lapsed => "lapsed",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "pending_review" => Self::PendingReview,
            "verified" => Self::Verified,
            "rejected" => Self::Rejected,
            "more_info_requested" => Self::MoreInfoRequested,
            "lapsed" => Self::Lapsed,
            _ => Self::Superseded,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credentials)]
pub struct Credential {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub level: Option<String>,
    pub domain: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub file_id: i64,
    pub status: String,
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
        CredentialStatus::parse(&self.status)
    }
    /// e.g. "master degree in law".
    pub fn describe(&self) -> String {
        let kind = CredentialKind::parse(&self.kind).map(|k| k.label()).unwrap_or("credential");
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
    pub kind: &'a str,
    pub level: Option<&'a str>,
    pub domain: &'a str,
    pub title: &'a str,
    pub issuer: &'a str,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub file_id: i64,
    pub status: &'a str,
    pub flagged: bool,
    pub flag_reason: Option<&'a str>,
    pub replaces_id: Option<i64>,
    pub submitted_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = credential_rules)]
pub struct CredentialRule {
    pub id: i64,
    pub kind: String,
    /// Degree level, or null for any.
    pub level: Option<String>,
    pub domain: String,
    pub grants_domain: String,
    pub grants_tier: String,
    pub created_by: i64,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = credential_rules)]
pub struct NewCredentialRule<'a> {
    pub kind: &'a str,
    pub level: Option<&'a str>,
    pub domain: &'a str,
    pub grants_domain: &'a str,
    pub grants_tier: &'a str,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = removal_proposals)]
pub struct RemovalProposal {
    pub id: i64,
    pub user_id: i64,
    pub credential_id: Option<i64>,
    pub reason_code: String,
    pub note: String,
    /// `proposed`, `confirmed` or `withdrawn`.
    pub status: String,
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
    pub status: &'a str,
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
    pub fn status(self) -> CredentialStatus {
        match self {
            Self::Verify => CredentialStatus::Verified,
            Self::Reject => CredentialStatus::Rejected,
            Self::RequestMoreInfo => CredentialStatus::MoreInfoRequested,
        }
    }
}
