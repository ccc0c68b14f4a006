//! The test-answer grading queue ([`ReviewQueue`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::ReviewStatus;
use super::service;
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::review::{self, fact, Claimable, Decision, Form, Item, ListFilter, ReviewQueue, Waiting};
use crate::AppState;

/// Free-text answers awaiting a grade (`/review/test-answers`).
pub struct TestAnswers;

impl ReviewQueue for TestAnswers {
    fn slug(&self) -> &'static str {
        "test-answers"
    }

    fn title(&self) -> &'static str {
        "Test answers"
    }

    fn subject_type(&self) -> AuditSubject {
        AuditSubject::TestAnswer
    }

    fn claimed_action(&self) -> AuditAction {
        AuditAction::TestAnswerClaimed
    }

    fn waiting(&self, conn: &mut DbConn) -> AppResult<(i64, Option<NaiveDateTime>)> {
        review::waiting!(conn, test_answer_reviews, ReviewStatus::Pending.as_str(), created_at)
    }

    fn list(&self, st: &AppState, filter: &ListFilter) -> AppResult<Vec<Waiting>> {
        Ok(service::review_queue(st, filter.after, filter.limit)?
            .into_iter()
            .map(|i| Waiting {
                id: i.review.id,
                person_id: i.attempt.user_id,
                summary: format!(
                    "{} · question {} · up to {} points",
                    i.test.title, i.review.question_id, i.review.max_points
                ),
                since: i.review.created_at,
                claimed_by: i.review.claimed_by,
                claim_expires_at: i.review.claim_expires_at,
                flagged: false,
                cents: 0,
            })
            .collect())
    }

    fn load(&self, conn: &mut DbConn, id: i64) -> AppResult<Item> {
        let i = service::review_item(conn, id)?;
        Ok(Item {
            person_id: i.attempt.user_id,
            heading: format!("Answer #{id} · {}", i.test.title),
            facts: vec![
                fact(
                    "Question",
                    i.question.as_ref().map(|q| q.prompt.clone()).unwrap_or_else(|| i.review.question_id.clone()),
                ),
                fact("Answer", i.review.answer_text.clone()),
                fact("Points possible", i.review.max_points.to_string()),
                fact("Attempt", format!("#{} ({})", i.attempt.id, i.attempt.status)),
            ],
            file_ids: vec![],
            pending: i.review.status == ReviewStatus::Pending,
            claimed_by: i.review.claimed_by,
            claim_expires_at: i.review.claim_expires_at,
            form: Form::Points(i.review.max_points),
        })
    }

    fn claimable(&self, conn: &mut DbConn, id: i64, reviewer: i64) -> AppResult<Claimable> {
        let i = service::review_item(conn, id)?;
        if i.attempt.user_id == reviewer {
            return Err(AppError::Forbidden("nobody grades their own test answers".into()));
        }
        if i.review.status != ReviewStatus::Pending {
            return Err(AppError::conflict(ProblemCode::AlreadyGraded, "this answer is already graded"));
        }
        Ok(Claimable { status: ReviewStatus::Pending.as_str(), claimed_by: i.review.claimed_by })
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
        Ok(review::claim_row!(conn, test_answer_reviews, id, status, reviewer, now, until)?)
    }

    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, d: Decision) -> AppResult<()> {
        let points: i64 = d
            .points
            .as_deref()
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| AppError::field("points", "invalid", "whole points, from 0 to the maximum"))?;
        service::decide(st, ctx, reviewer, id, points as f64, &d.note).map(drop)
    }
}
