use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Decision, DecisionKind, DecisionOutcome, DecisionSubject, NewDecisionRow};
use crate::db::schema::decisions;
use crate::db::DbConn;
use crate::error::AppResult;

pub struct NewDecision<'a> {
    pub user_id: i64,
    pub subject_type: DecisionSubject,
    pub subject_id: String,
    pub outcome: DecisionOutcome,
    pub reason_code: &'a str,
    pub note: &'a str,
    pub decided_by: Option<i64>,
}

/// Records a decision in the caller's transaction. Its kind must be one of
/// [`DecisionKind::ALL`] (each covered by the decision-kind test, which checks the
/// decision is recorded and emailed); the caller queues the email in the same
/// transaction.
pub fn record(conn: &mut DbConn, now: NaiveDateTime, d: NewDecision<'_>) -> AppResult<()> {
    if DecisionKind::of(d.subject_type, d.outcome, d.decided_by.is_none()).is_none() {
        return Err(crate::error::AppError::Internal(anyhow::anyhow!(
            "decision {}/{} is not a DecisionKind: add it there and to the decision-kind test",
            d.subject_type,
            d.outcome
        )));
    }
    diesel::insert_into(decisions::table)
        .values(NewDecisionRow {
            user_id: d.user_id,
            subject_type: d.subject_type,
            subject_id: &d.subject_id,
            outcome: d.outcome,
            reason_code: d.reason_code,
            note: d.note,
            decided_by: d.decided_by,
            decided_at: now,
        })
        .execute(conn)?;
    Ok(())
}

/// Newest first, keyset-paginated on the id.
pub fn list_for(conn: &mut DbConn, user_id: i64, before: Option<i64>, limit: Option<i64>) -> AppResult<Vec<Decision>> {
    let mut q = decisions::table.filter(decisions::user_id.eq(user_id)).select(Decision::as_select()).into_boxed();
    if let Some(b) = before {
        q = q.filter(decisions::id.lt(b));
    }
    Ok(q.order(decisions::id.desc()).limit(crate::db::page_limit(limit)).load(conn)?)
}
