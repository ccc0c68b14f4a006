//! The work-authorization review queue ([`ReviewQueue`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{AuthorizationStatus, ReviewOutcome, WorkAuthorization};
use super::service::{self, ReviewDecision};
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::clock::{when, when_opt};
use crate::db::like::coalesce;
use crate::db::schema::{users, work_authorizations};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::review::{self, fact, Decision, Form, Item, ListFilter, ReasonGroup, ReviewQueue, Taken, Waiting};
use crate::AppState;

/// Work authorizations awaiting review (`/review/work-authorizations`).
pub struct WorkAuthorizations;

/// When an authorization started waiting: submitted, else attested.
fn since() -> coalesce<work_authorizations::submitted_at, work_authorizations::attested_at> {
    coalesce(work_authorizations::submitted_at, work_authorizations::attested_at)
}

/// Authorizations awaiting review with their applicant, selecting `$select`, boxed.
macro_rules! pending {
    ($select:expr) => {
        work_authorizations::table
            .inner_join(users::table.on(users::id.eq(work_authorizations::user_id)))
            .filter(work_authorizations::status.eq(AuthorizationStatus::PendingReview.as_str()))
            .select($select)
            .into_boxed()
    };
}

/// The queue filters on authorizations: the category is searched too.
macro_rules! filter_authorizations {
    ($q:ident, $filter:expr, $now:expr) => {
        review::filter_queue!(
            $q,
            $filter,
            $now,
            work_authorizations,
            work_authorizations::user_id,
            since(),
            [work_authorizations::category]
        )
    };
}

impl ReviewQueue for WorkAuthorizations {
    fn slug(&self) -> &'static str {
        "work-authorizations"
    }

    fn title(&self) -> &'static str {
        "Work authorizations"
    }

    fn subject_type(&self) -> AuditSubject {
        AuditSubject::WorkAuthorization
    }

    fn claimed_action(&self) -> AuditAction {
        AuditAction::WorkAuthorizationClaimed
    }

    fn waiting(&self, conn: &mut DbConn) -> AppResult<(i64, Option<NaiveDateTime>)> {
        review::waiting!(conn, work_authorizations, AuthorizationStatus::PendingReview.as_str(), submitted_at)
    }

    fn list(&self, st: &AppState, filter: &ListFilter) -> AppResult<Vec<Waiting>> {
        let now = st.clock.now();
        st.db.read_sync(|conn| {
            let mut q = pending!(WorkAuthorization::as_select());
            filter_authorizations!(q, filter, now);
            let source =
                work_authorizations::table.inner_join(users::table.on(users::id.eq(work_authorizations::user_id)));
            review::order_queue!(q, conn, filter, source, work_authorizations::id, since(), work_authorizations::id);
            let rows: Vec<WorkAuthorization> = q.load(conn)?;
            let mut out = Vec::with_capacity(rows.len());
            for a in rows {
                let documents = service::documents_of(conn, a.id)?.len();
                out.push(Waiting {
                    id: a.id,
                    person_id: a.user_id,
                    summary: format!(
                        "{} · {} document(s){}",
                        a.category.as_str().replace('_', " "),
                        documents,
                        if a.reverification { " · reverification" } else { "" }
                    ),
                    since: a.submitted_at.unwrap_or(a.attested_at),
                    claimed_by: a.claimed_by,
                    claim_expires_at: a.claim_expires_at,
                    flagged: false,
                    cents: 0,
                });
            }
            Ok(out)
        })
    }

    fn count(&self, st: &AppState, filter: &ListFilter) -> AppResult<i64> {
        let now = st.clock.now();
        st.db.read_sync(|conn| {
            let mut q = pending!(diesel::dsl::count_star());
            filter_authorizations!(q, filter, now);
            Ok(q.first(conn)?)
        })
    }

    fn load(&self, conn: &mut DbConn, id: i64) -> AppResult<Item> {
        let wa = service::find_authorization(conn, id)?;
        let docs = service::documents_of(conn, id)?;
        Ok(Item {
            person_id: wa.user_id,
            heading: format!("Work authorization #{id}"),
            facts: vec![
                fact("Category", wa.category.as_str().replace('_', " ")),
                fact("Authorized until", wa.expires_on.map(|d| d.to_string()).unwrap_or_else(|| "no end date".into())),
                fact(
                    "Reverify on",
                    wa.reverify_on.map(|d| d.to_string()).unwrap_or_else(|| "never (M-274 6.1)".into()),
                ),
                fact("Residence", wa.residence_country.clone()),
                fact("Reverification", if wa.reverification { "yes" } else { "no" }),
                fact("Attested", when(&wa.attested_at)),
                fact("Submitted", when_opt(&wa.submitted_at)),
                fact("Status", wa.status.as_str().replace('_', " ")),
            ],
            file_ids: docs
                .iter()
                .map(|d| {
                    (
                        d.file_id,
                        format!(
                            "List {} · {}{}",
                            d.list.as_str().to_uppercase(),
                            d.document_type.as_str().replace('_', " "),
                            d.expires_on.map(|e| format!(" · expires {e}")).unwrap_or_default()
                        ),
                    )
                })
                .collect(),
            pending: wa.status() == AuthorizationStatus::PendingReview,
            claimed_by: wa.claimed_by,
            claim_expires_at: wa.claim_expires_at,
            form: Form::Reasons(vec![
                ReasonGroup {
                    outcome: ReviewOutcome::Verify.as_str(),
                    label: "Verify",
                    codes: ReviewOutcome::Verify.reason_names(),
                },
                ReasonGroup {
                    outcome: ReviewOutcome::Reject.as_str(),
                    label: "Reject",
                    codes: ReviewOutcome::Reject.reason_names(),
                },
                ReasonGroup {
                    outcome: ReviewOutcome::RequestMoreInfo.as_str(),
                    label: "Ask for more information",
                    codes: ReviewOutcome::RequestMoreInfo.reason_names(),
                },
            ]),
        })
    }

    fn take_claim(
        &self,
        conn: &mut DbConn,
        id: i64,
        reviewer: i64,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> AppResult<Taken> {
        let wa = service::find_authorization(conn, id)?;
        if wa.user_id == reviewer {
            return Err(AppError::Forbidden("nobody reviews their own application".into()));
        }
        if wa.status() != AuthorizationStatus::PendingReview {
            return Err(AppError::conflict(ProblemCode::NotPendingReview, "this item is not awaiting review"));
        }
        let rows = review::claim_row!(
            conn,
            work_authorizations,
            id,
            AuthorizationStatus::PendingReview,
            reviewer,
            now,
            until
        )?;
        Ok(Taken { claimed_by: wa.claimed_by, rows })
    }

    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, d: Decision) -> AppResult<()> {
        let (outcome, reason) = d.parts();
        let d = ReviewDecision {
            outcome: review::choice("decision", outcome)?,
            reason_code: reason.to_string(),
            note: d.note.clone(),
        };
        service::decide(st, ctx, reviewer, id, d).map(drop)
    }
}
