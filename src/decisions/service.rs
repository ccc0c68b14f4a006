use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Decision, NewDecisionRow};
use crate::db::schema::decisions;
use crate::db::DbConn;
use crate::error::AppResult;

pub struct NewDecision<'a> {
    pub user_id: i64,
    pub subject_type: &'a str,
    pub subject_id: String,
    pub outcome: &'a str,
    pub reason_code: &'a str,
    pub note: &'a str,
    pub decided_by: Option<i64>,
}

/// Records a decision in the caller's transaction.
pub fn record(conn: &mut DbConn, now: NaiveDateTime, d: NewDecision<'_>) -> AppResult<()> {
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
