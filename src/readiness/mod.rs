//! The readiness checker (SPEC §2): "what stops me from working, or from being paid?"
//!
//! Each capability contributes its own requirements through a provider function listed
//! in [`collect`]; later capabilities (credentials, tests, tax, payouts) add theirs there.

pub mod routes;

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
}

impl Requirement {
    pub fn new(code: impl Into<String>, status: RequirementStatus, how_to_fix: impl Into<String>) -> Self {
        Self { code: code.into(), status, due_by: None, how_to_fix: how_to_fix.into(), blocks: vec![Blocks::Work] }
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

pub fn collect(conn: &mut DbConn, now: NaiveDateTime, user: &User, payout_minimum_cents: i64) -> AppResult<Readiness> {
    let mut requirements = Vec::new();
    requirements.extend(crate::onboarding::readiness::requirements(conn, now, user)?);
    requirements.extend(crate::credentials::readiness::requirements(conn, now, user)?);
    requirements.extend(crate::tax::readiness::requirements(conn, now, user)?);
    requirements.extend(crate::payouts::readiness::requirements(conn, now, user, payout_minimum_cents)?);
    let clear =
        |b: Blocks| requirements.iter().all(|r| r.status == RequirementStatus::Satisfied || !r.blocks.contains(&b));
    let (can_work, can_be_paid) = (clear(Blocks::Work), clear(Blocks::Payouts));
    Ok(Readiness { user_id: user.id, status: user.status(), can_work, can_be_paid, requirements })
}
