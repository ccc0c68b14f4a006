//! The readiness checker (SPEC §2): "what stops me from working, or from being paid?"
//!
//! Each capability contributes its own requirements through a provider function listed
//! in [`collect`]; later capabilities (credentials, tests, tax, payouts) add theirs there.

pub mod routes;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::model::User;
use crate::db::DbConn;
use crate::error::AppResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequirementStatus {
    CurrentlyDue,
    PendingReview,
    PastDue,
    Satisfied,
}

/// What a requirement holds back when it is not satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Blocks {
    Work,
    Payouts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Requirement {
    /// Stable code, e.g. `email_verified`, `work_authorization`.
    pub code: String,
    pub status: RequirementStatus,
    pub due_by: Option<NaiveDate>,
    /// What the person can do about it, in plain words.
    pub how_to_fix: String,
    pub blocks: Vec<Blocks>,
    /// Where the person reads more (e.g. `/api/v1/me/standing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Requirement {
    pub fn new(code: impl Into<String>, status: RequirementStatus, how_to_fix: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            status,
            due_by: None,
            how_to_fix: how_to_fix.into(),
            blocks: vec![Blocks::Work],
            link: None,
        }
    }
    pub fn satisfied(code: impl Into<String>) -> Self {
        Self::new(code, RequirementStatus::Satisfied, "")
    }
    /// Informational: shown, but holds nothing back.
    pub fn blocking_nothing(mut self) -> Self {
        self.blocks.clear();
        self
    }
    pub fn due_by(mut self, date: Option<NaiveDate>) -> Self {
        self.due_by = date;
        self
    }
    pub fn link(mut self, link: &str) -> Self {
        self.link = Some(link.to_string());
        self
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub user_id: i64,
    pub status: crate::auth::model::UserStatus,
    /// True when nothing blocks new work.
    pub can_work: bool,
    /// True when nothing blocks payouts.
    pub can_be_paid: bool,
    pub requirements: Vec<Requirement>,
}

/// What the providers read about one person. [`load_facts`] loads it for many people at
/// once, so `GET /me/readiness` (one person) and the payout batch (everyone with money
/// available) evaluate the same rows with the same pure functions.
pub struct Facts {
    pub user: User,
    pub profile: Option<crate::onboarding::model::Profile>,
    /// The latest authorization that is not superseded.
    pub current_authorization: Option<crate::onboarding::model::WorkAuthorization>,
    /// The latest verified authorization (in force while a reverification is reviewed).
    pub verified_authorization: Option<crate::onboarding::model::WorkAuthorization>,
    /// Every authorization ever verified, renewals included: what the eligibility rule
    /// (`onboarding::eligibility`) reads.
    pub verified: Vec<crate::onboarding::eligibility::VerifiedSpan>,
    /// Finance released a removed contributor's earned money (`payouts::releases`).
    pub released: bool,
    /// Newest first, at most 200.
    pub credentials: Vec<crate::credentials::model::Credential>,
    pub tax_profile: Option<crate::tax::model::TaxProfile>,
    pub withholding: crate::tax::service::WithholdingStatus,
    pub method: Option<crate::payouts::model::MethodRow>,
    pub available_cents: i64,
    /// Domains whose standing tier keeps project types locked.
    pub standing_locks: Vec<crate::quality::service::StandingLock>,
}

/// The [`Facts`] of `users`, a handful of queries per [`crate::db::LOOKUP_CHUNK`] people. `available`
/// gives the available balances when the caller has just summed them (the batch build);
/// otherwise they are summed here.
pub fn load_facts(
    conn: &mut DbConn,
    now: NaiveDateTime,
    users: Vec<User>,
    available: Option<&HashMap<i64, i64>>,
) -> AppResult<Vec<Facts>> {
    let mut out = Vec::with_capacity(users.len());
    let mut users = users.into_iter().peekable();
    while users.peek().is_some() {
        let chunk: Vec<User> = users.by_ref().take(crate::db::LOOKUP_CHUNK).collect();
        let ids: Vec<i64> = chunk.iter().map(|u| u.id).collect();
        let mut profiles = crate::onboarding::service::profiles_of(conn, &ids)?;
        let mut authorizations = crate::onboarding::service::authorizations_of(conn, &ids)?;
        let mut spans = crate::onboarding::eligibility::verified_spans_of(conn, &ids)?;
        let released = crate::payouts::releases::released_of(conn, &ids)?;
        let mut credentials = crate::credentials::service::lists_of(conn, &ids)?;
        let mut tax_profiles = crate::tax::service::current_profiles_of(conn, &ids)?;
        let mut withholding = crate::tax::service::withholding_statuses(conn, &ids, &tax_profiles, now.date())?;
        let mut methods = crate::payouts::methods::current_methods_of(conn, &ids)?;
        let mut locks = crate::quality::service::locks_of(conn, &ids)?;
        let summed;
        let available = match available {
            Some(a) => a,
            None => {
                summed = crate::ledger::service::available_of(conn, Some(&ids))?.into_iter().collect();
                &summed
            }
        };
        for user in chunk {
            let id = user.id;
            let (current_authorization, verified_authorization) = authorizations.remove(&id).unwrap_or_default();
            out.push(Facts {
                profile: profiles.remove(&id),
                current_authorization,
                verified_authorization,
                verified: spans.remove(&id).unwrap_or_default(),
                released: released.contains(&id),
                credentials: credentials.remove(&id).unwrap_or_default(),
                tax_profile: tax_profiles.remove(&id),
                withholding: withholding.remove(&id).ok_or_else(|| {
                    crate::error::AppError::Internal(anyhow::anyhow!("no withholding status for user {id}"))
                })?,
                method: methods.remove(&id),
                available_cents: available.get(&id).copied().unwrap_or(0),
                standing_locks: locks.remove(&id).unwrap_or_default(),
                user,
            });
        }
    }
    Ok(out)
}

/// Every provider's requirements for one person, from their [`Facts`] (no database).
///
/// `can_work` and `can_be_paid` agree with the eligibility rule by construction: the
/// requirements that carry its reasons block exactly when the rule says so (checked over
/// every status in `onboarding::readiness`'s tests).
pub fn evaluate(now: NaiveDateTime, facts: &Facts, payout_minimum_cents: i64) -> Readiness {
    let mut requirements = Vec::new();
    requirements.extend(crate::onboarding::readiness::requirements(now, facts));
    requirements.extend(crate::credentials::readiness::requirements(now, facts));
    requirements.extend(crate::tax::readiness::requirements(facts));
    requirements.extend(crate::payouts::readiness::requirements(now, facts, payout_minimum_cents));
    requirements.extend(crate::quality::readiness::requirements(facts));
    let clear =
        |b: Blocks| requirements.iter().all(|r| r.status == RequirementStatus::Satisfied || !r.blocks.contains(&b));
    let (can_work, can_be_paid) = (clear(Blocks::Work), clear(Blocks::Payouts));
    let user = &facts.user;
    Readiness { user_id: user.id, status: user.status(), can_work, can_be_paid, requirements }
}

/// The codes of the requirements that hold payouts back and are not satisfied.
pub fn payout_blockers(readiness: Readiness) -> Vec<String> {
    readiness
        .requirements
        .into_iter()
        .filter(|r| r.status != RequirementStatus::Satisfied && r.blocks.contains(&Blocks::Payouts))
        .map(|r| r.code)
        .collect()
}

pub fn collect(conn: &mut DbConn, now: NaiveDateTime, user: &User, payout_minimum_cents: i64) -> AppResult<Readiness> {
    let facts = load_facts(conn, now, vec![user.clone()], None)?;
    let facts = facts.first().ok_or(crate::error::AppError::NotFound)?;
    Ok(evaluate(now, facts, payout_minimum_cents))
}
