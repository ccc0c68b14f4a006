//! The test-answer grading queue ([`ReviewQueue`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{QuestionKind, ReviewRow, ReviewStatus, MILLI};
use super::service;
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::db::schema::{test_answer_reviews, test_attempts, users};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::review::{self, fact, Decision, Form, Item, ListFilter, ReviewQueue, Taken, Waiting};
use crate::AppState;

/// Free-text answers awaiting a grade (`/review/test-answers`).
pub struct TestAnswers;

/// Points stored in thousandths, as a reviewer reads them (`2`, `2.5`).
fn points(milli: i64) -> String {
    (milli as f64 / MILLI as f64).to_string()
}

/// Answers awaiting a grade with the attempt and the person, selecting `$select`, boxed.
macro_rules! pending {
    ($select:expr) => {
        test_answer_reviews::table
            .inner_join(test_attempts::table)
            .inner_join(users::table.on(users::id.eq(test_attempts::user_id)))
            .filter(test_answer_reviews::status.eq(ReviewStatus::Pending.as_str()))
            .select($select)
            .into_boxed()
    };
}

/// The queue filters on answers: the question's id is searched too.
macro_rules! filter_answers {
    ($q:ident, $filter:expr, $now:expr) => {
        review::filter_queue!(
            $q,
            $filter,
            $now,
            test_answer_reviews,
            test_attempts::user_id,
            test_answer_reviews::created_at,
            [test_answer_reviews::question_id]
        )
    };
}

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
        let now = st.clock.now();
        st.db.read_sync(|conn| {
            let mut q = pending!(ReviewRow::as_select());
            filter_answers!(q, filter, now);
            let source = test_answer_reviews::table
                .inner_join(test_attempts::table)
                .inner_join(users::table.on(users::id.eq(test_attempts::user_id)));
            review::order_queue!(
                q,
                conn,
                filter,
                source,
                test_answer_reviews::id,
                test_answer_reviews::created_at,
                test_answer_reviews::id
            );
            let rows: Vec<ReviewRow> = q.load(conn)?;
            rows.into_iter()
                .map(|r| {
                    let i = service::queue_item(conn, r)?;
                    Ok(Waiting {
                        id: i.review.id,
                        person_id: i.attempt.user_id,
                        summary: format!(
                            "{} · question {} · up to {} points",
                            i.test.title,
                            i.review.question_id,
                            points(i.review.max_points)
                        ),
                        since: i.review.created_at,
                        claimed_by: i.review.claimed_by,
                        claim_expires_at: i.review.claim_expires_at,
                        flagged: false,
                        cents: 0,
                    })
                })
                .collect()
        })
    }

    fn count(&self, st: &AppState, filter: &ListFilter) -> AppResult<i64> {
        let now = st.clock.now();
        st.db.read_sync(|conn| {
            let mut q = pending!(diesel::dsl::count_star());
            filter_answers!(q, filter, now);
            Ok(q.first(conn)?)
        })
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
                // The rubric the answer is graded against, right beside it.
                fact(
                    "Rubric",
                    match i.question.as_ref().map(|q| &q.kind) {
                        Some(QuestionKind::FreeText { rubric }) => rubric.clone(),
                        _ => "—".into(),
                    },
                ),
                fact("Points possible", points(i.review.max_points)),
                fact("Attempt", format!("#{} ({})", i.attempt.id, i.attempt.status)),
            ],
            file_ids: vec![],
            pending: i.review.status == ReviewStatus::Pending,
            claimed_by: i.review.claimed_by,
            claim_expires_at: i.review.claim_expires_at,
            // The form gives whole points.
            form: Form::Points(i.review.max_points / MILLI),
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
        let i = service::review_item(conn, id)?;
        if i.attempt.user_id == reviewer {
            return Err(AppError::Forbidden("nobody grades their own test answers".into()));
        }
        if i.review.status != ReviewStatus::Pending {
            return Err(AppError::conflict(ProblemCode::AlreadyGraded, "this answer is already graded"));
        }
        let rows = review::claim_row!(conn, test_answer_reviews, id, ReviewStatus::Pending, reviewer, now, until)?;
        Ok(Taken { claimed_by: i.review.claimed_by, rows })
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
