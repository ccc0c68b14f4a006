//! The work-authorization review queue ([`ReviewQueue`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{AuthorizationStatus, ReviewOutcome};
use super::service::{self, ReviewDecision};
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::clock::{when, when_opt};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::review::{self, fact, Claimable, Decision, Form, Item, ListFilter, ReasonGroup, ReviewQueue, Waiting};
use crate::AppState;

/// Work authorizations awaiting review (`/review/work-authorizations`).
pub struct WorkAuthorizations;

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
        Ok(st
            .db
            .read_sync(|c| service::queue(c, filter.limit, filter.after))?
            .into_iter()
            .map(|r| Waiting {
                id: r.authorization.id,
                person_id: r.authorization.user_id,
                summary: format!(
                    "{} · {} document(s){}",
                    r.authorization.category.as_str().replace('_', " "),
                    r.documents.len(),
                    if r.authorization.reverification { " · reverification" } else { "" }
                ),
                since: r.authorization.submitted_at.unwrap_or(r.authorization.attested_at),
                claimed_by: r.authorization.claimed_by,
                claim_expires_at: r.authorization.claim_expires_at,
                flagged: false,
                cents: 0,
            })
            .collect())
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
                            d.document_type.replace('_', " "),
                            d.expires_on.map(|e| format!(" · expires {e}")).unwrap_or_default()
                        ),
                    )
                })
                .collect(),
            pending: wa.status() == AuthorizationStatus::PendingReview,
            claimed_by: wa.claimed_by,
            claim_expires_at: wa.claim_expires_at,
            form: Form::Reasons(vec![
                ReasonGroup { outcome: "verify", label: "Verify", codes: ReviewOutcome::Verify.reason_codes() },
                ReasonGroup { outcome: "reject", label: "Reject", codes: ReviewOutcome::Reject.reason_codes() },
                ReasonGroup {
                    outcome: "request_more_info",
                    label: "Ask for more information",
                    codes: ReviewOutcome::RequestMoreInfo.reason_codes(),
                },
            ]),
        })
    }

    fn claimable(&self, conn: &mut DbConn, id: i64, reviewer: i64) -> AppResult<Claimable> {
        let wa = service::find_authorization(conn, id)?;
        if wa.user_id == reviewer {
            return Err(AppError::Forbidden("nobody reviews their own application".into()));
        }
        if wa.status() != AuthorizationStatus::PendingReview {
            return Err(AppError::conflict(ProblemCode::NotPendingReview, "this item is not awaiting review"));
        }
        Ok(Claimable { status: AuthorizationStatus::PendingReview.as_str(), claimed_by: wa.claimed_by })
    }

    fn take_claim(
        &self,
        conn: &mut DbConn,
        id: i64,
        status: &'static str,
        reviewer: i64,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> AppResult<usize> {
        Ok(review::claim_row!(conn, work_authorizations, id, status, reviewer, now, until)?)
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
