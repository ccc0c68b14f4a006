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

/// A person with nothing missing, for the providers' unit tests: an active contributor
/// with a verified email and authorization, a complete profile, a W-9, a usable method
/// and $50 available, on 2026-06-20 at noon.
#[cfg(test)]
pub(crate) mod testing {
    use chrono::{NaiveDate, NaiveDateTime};

    use super::Facts;
    use crate::auth::model::{User, UserStatus};

    pub fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 6, day).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }

    pub fn now() -> NaiveDateTime {
        at(20)
    }

    pub fn user(status: UserStatus) -> User {
        User {
            id: 1,
            email: "a@example.com".into(),
            password_hash: None,
            full_name: "A".into(),
            status: status.as_str().into(),
            email_verified_at: Some(at(1)),
            created_at: at(1),
            updated_at: at(1),
            status_reason: None,
            status_until: None,
            work_blocked_since: status.blocks_work().then(|| at(5)),
        }
    }

    pub fn complete() -> Facts {
        let some = |s: &str| Some(s.to_string());
        Facts {
            user: user(UserStatus::Active),
            profile: Some(crate::onboarding::model::Profile {
                legal_name: some("Ana Example"),
                date_of_birth_enc: some("v1:sealed"),
                address_line1: some("12 Main St"),
                city: some("Albany"),
                region: some("NY"),
                postal_code: some("12207"),
                country: some("US"),
                phone: some("+15185550100"),
                ..crate::onboarding::model::Profile::empty(1, at(1))
            }),
            current_authorization: None,
            verified_authorization: None,
            verified: vec![crate::onboarding::eligibility::VerifiedSpan { verified_at: at(2), expires_on: None }],
            released: false,
            credentials: Vec::new(),
            tax_profile: Some(crate::tax::model::TaxProfile {
                id: 1,
                user_id: 1,
                version: 1,
                legal_name: "Ana Example".into(),
                business_name: None,
                tax_classification: "individual".into(),
                address_line1: "12 Main St".into(),
                address_line2: None,
                city: "Albany".into(),
                region: "NY".into(),
                postal_code: "12207".into(),
                tin_type: "ssn".into(),
                tin_enc: "v1:sealed".into(),
                tin_last4: "6789".into(),
                subject_to_backup_withholding: false,
                signature_name: "Ana Example".into(),
                signed_at: at(3),
                signed_ip: None,
                created_at: at(3),
                exempt_payee_code: None,
            }),
            withholding: crate::tax::service::WithholdingStatus {
                required: false,
                reasons: Vec::new(),
                rate: rust_decimal::Decimal::new(24, 2),
                w9_due_by: None,
                tin_validation_due: false,
                exempt_payee: None,
            },
            method: Some(crate::payouts::model::MethodRow {
                id: 1,
                user_id: 1,
                rail: "paypal".into(),
                status: "active".into(),
                status_reason: None,
                details_enc: "v1:sealed".into(),
                masked: "a***@example.com".into(),
                usable_from: at(4),
                created_at: at(4),
                replaced_at: None,
                destination_kind: "email".into(),
            }),
            available_cents: 5_000,
            standing_locks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{complete, now, user};
    use super::*;
    use crate::auth::model::UserStatus;

    const MINIMUM: i64 = 1_000;

    fn unsatisfied(r: &Readiness) -> Vec<&str> {
        r.requirements.iter().filter(|r| r.status != RequirementStatus::Satisfied).map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn nothing_missing_means_work_and_pay() {
        let r = evaluate(now(), &complete(), MINIMUM);
        assert!(r.can_work && r.can_be_paid, "{:?}", r.requirements);
        assert_eq!(unsatisfied(&r), Vec::<&str>::new());
        // Every provider spoke: one requirement of each is on the list.
        for code in ["account_in_good_standing", "profile_complete", "w9_on_file", "payout_method"] {
            assert!(r.requirements.iter().any(|q| q.code == code), "{code}");
        }
        assert_eq!(payout_blockers(r), Vec::<String>::new());
    }

    #[test]
    fn what_blocks_payouts_only_leaves_work_open() {
        let mut f = complete();
        f.tax_profile = None;
        f.available_cents = MINIMUM - 1;
        let r = evaluate(now(), &f, MINIMUM);
        assert!(r.can_work && !r.can_be_paid);
        assert_eq!(payout_blockers(r), ["w9_on_file", "payout_minimum_balance"]);
    }

    #[test]
    fn what_blocks_work_blocks_work() {
        let mut f = complete();
        f.profile = None;
        let r = evaluate(now(), &f, MINIMUM);
        assert!(!r.can_work && !r.can_be_paid, "the profile blocks both");
        assert_eq!(unsatisfied(&r), ["profile_complete"]);
        // A suspension pauses work; earned money is still paid (SPEC §3).
        let mut f = complete();
        f.user = user(UserStatus::Suspended);
        let r = evaluate(now(), &f, MINIMUM);
        assert!(!r.can_work && r.can_be_paid, "{:?}", unsatisfied(&r));
    }

    #[test]
    fn informational_requirements_hold_nothing_back() {
        let mut f = complete();
        f.standing_locks = vec![crate::quality::service::StandingLock {
            domain: "law".into(),
            tier: crate::quality::rules::StandingTier::Entry,
            project_types: vec!["Contracts".into()],
        }];
        f.withholding.w9_due_by = chrono::NaiveDate::from_ymd_opt(2026, 7, 1);
        let r = evaluate(now(), &f, MINIMUM);
        assert!(r.can_work && r.can_be_paid);
        assert_eq!(unsatisfied(&r), ["b_notice_w9", "quality_standing"]);
    }
}
