//! Paying out a removed contributor's earned money (issue 16 item 4; SPEC §4, §8).
//!
//! Removal puts a payment hold on the account. Finance lifts it with a maker-checker
//! decision: one finance user requests the release with a note, a different one approves
//! it. From then on the removed person is paid like anyone else (to the method on file,
//! past its change hold, with a W-9), and without the payout minimum: it is their final
//! payout (issue 16 item 19). Documented in docs/payouts.md "Paying people who left".

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::model::UserStatus;
use crate::auth::service::find_user;
use crate::auth::RequestCtx;
use crate::db::schema::payout_releases;
use crate::db::DbConn;
use crate::decisions::{self, DecisionOutcome, DecisionSubject, NewDecision};
use crate::error::{AppError, AppResult, ProblemCode};
use crate::notifications::{self, templates};
use crate::AppState;

crate::text_enum! {
    /// Where a release stands. Stored as text under a CHECK constraint.
    pub enum ReleaseStatus {
        PendingApproval = "pending_approval",
        Approved = "approved",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payout_releases)]
struct ReleaseRow {
    id: i64,
    contributor_id: i64,
    note: String,
    status: ReleaseStatus,
    requested_by: i64,
    requested_at: NaiveDateTime,
    approved_by: Option<i64>,
    approved_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = payout_releases)]
struct NewReleaseRow<'a> {
    contributor_id: i64,
    note: &'a str,
    status: &'a str,
    requested_by: i64,
    requested_at: NaiveDateTime,
}

/// A release as finance sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Release {
    pub id: i64,
    pub contributor_id: i64,
    pub note: String,
    pub status: ReleaseStatus,
    pub requested_by: i64,
    #[serde(with = "crate::clock::utc")]
    pub requested_at: NaiveDateTime,
    pub approved_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub approved_at: Option<NaiveDateTime>,
}

impl TryFrom<ReleaseRow> for Release {
    type Error = AppError;
    fn try_from(r: ReleaseRow) -> AppResult<Self> {
        Ok(Self {
            status: r.status,
            id: r.id,
            contributor_id: r.contributor_id,
            note: r.note,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            approved_by: r.approved_by,
            approved_at: r.approved_at,
        })
    }
}

fn release_of(conn: &mut DbConn, contributor_id: i64) -> AppResult<Option<Release>> {
    payout_releases::table
        .filter(payout_releases::contributor_id.eq(contributor_id))
        .select(ReleaseRow::as_select())
        .first(conn)
        .optional()?
        .map(Release::try_from)
        .transpose()
}

/// The contributors among `ids` whose earned money finance released.
pub fn released_of(conn: &mut DbConn, among: crate::db::among::Among<'_>) -> AppResult<HashSet<i64>> {
    Ok(crate::among!(
        payout_releases::table
            .filter(payout_releases::status.eq(ReleaseStatus::Approved.as_str()))
            .select(payout_releases::contributor_id),
        payout_releases::contributor_id,
        among
    )
    .load::<i64>(conn)?
    .into_iter()
    .collect())
}

/// First signature: a finance user asks to release a removed contributor's earned money.
pub fn request(
    st: &AppState,
    ctx: &RequestCtx,
    finance_id: i64,
    contributor_id: i64,
    note: &str,
) -> AppResult<Release> {
    let note = note.trim();
    if note.is_empty() {
        return Err(AppError::field("note", "required", "say why the earned money is released"));
    }
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let user = find_user(conn, contributor_id)?;
        if user.id == finance_id {
            return Err(AppError::Forbidden("nobody decides about their own account".into()));
        }
        if user.status() != UserStatus::Removed {
            return Err(AppError::conflict(
                ProblemCode::NotRemoved,
                format!("only a removed contributor's money waits for a release; this account is {}", user.status),
            ));
        }
        if let Some(existing) = release_of(conn, contributor_id)? {
            return Err(AppError::conflict_with(
                ProblemCode::ReleaseExists,
                "a release was already requested for this contributor",
                json!({"release_id": existing.id, "status": existing.status}),
            ));
        }
        let id: i64 = diesel::insert_into(payout_releases::table)
            .values(NewReleaseRow {
                contributor_id,
                note,
                status: ReleaseStatus::PendingApproval.as_str(),
                requested_by: finance_id,
                requested_at: now,
            })
            .returning(payout_releases::id)
            .get_result(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(finance_id),
                action: AuditAction::PayoutReleaseRequested,
                subject_type: AuditSubject::User,
                subject_id: Some(contributor_id.to_string()),
                summary: json!({"after": {"release_id": id, "status": "pending_approval"}}),
            },
        )?;
        release_of(conn, contributor_id)?.ok_or(AppError::NotFound)
    })
}

/// Second signature: a different finance user approves; the payment hold is lifted and
/// the contributor is told their earned money will be paid.
pub fn approve(st: &AppState, ctx: &RequestCtx, finance_id: i64, contributor_id: i64) -> AppResult<Release> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let release = release_of(conn, contributor_id)?.ok_or(AppError::NotFound)?;
        if release.requested_by == finance_id {
            return Err(AppError::Forbidden("the finance user who requested a release cannot approve it".into()));
        }
        if contributor_id == finance_id {
            return Err(AppError::Forbidden("nobody decides about their own account".into()));
        }
        if release.status != ReleaseStatus::PendingApproval {
            return Err(AppError::conflict(ProblemCode::AlreadyApproved, "this release is already approved"));
        }
        let won = diesel::update(
            payout_releases::table
                .filter(payout_releases::id.eq(release.id))
                .filter(payout_releases::status.eq(ReleaseStatus::PendingApproval.as_str())),
        )
        .set((
            payout_releases::status.eq(ReleaseStatus::Approved.as_str()),
            payout_releases::approved_by.eq(finance_id),
            payout_releases::approved_at.eq(now),
        ))
        .execute(conn)?;
        if won != 1 {
            return Err(AppError::conflict(ProblemCode::AlreadyApproved, "this release is already approved"));
        }
        let user = find_user(conn, contributor_id)?;
        decisions::record(
            conn,
            now,
            NewDecision {
                user_id: contributor_id,
                subject_type: DecisionSubject::Account,
                subject_id: contributor_id.to_string(),
                outcome: DecisionOutcome::EarningsReleased,
                reason_code: "final_payout",
                note: &release.note,
                decided_by: Some(finance_id),
            },
        )?;
        notifications::enqueue(
            conn,
            now,
            &user.email,
            &format!("payout_release:{}", release.id),
            &templates::AccountDecision {
                full_name: user.full_name.clone(),
                subject: "Your earned money will be paid".into(),
                headline: "Finance released the money you earned before your account was removed.".into(),
                reason: "final payout".into(),
                note: release.note.clone(),
                next_steps: "It is paid with the next payout batch to the payout method on file, whatever the \
                             amount. GET /api/v1/me/readiness shows anything still missing (for example a W-9)."
                    .into(),
            },
        )?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(finance_id),
                action: AuditAction::PayoutReleaseApproved,
                subject_type: AuditSubject::User,
                subject_id: Some(contributor_id.to_string()),
                summary: json!({"before": {"status": "pending_approval"}, "after": {"status": "approved",
                    "release_id": release.id, "requested_by": release.requested_by}}),
            },
        )?;
        release_of(conn, contributor_id)?.ok_or(AppError::NotFound)
    })
}

/// The release of one contributor, if any.
pub fn get(st: &AppState, contributor_id: i64) -> AppResult<Release> {
    st.db.read_sync(|conn| release_of(conn, contributor_id)?.ok_or(AppError::NotFound))
}
