//! Retention of Form I-9 documents: the job that deletes them once they may be deleted.
//!
//! Sources: 8 CFR 274a.2(b)(2)(i)(A) and the M-274 Handbook for Employers, 10.1
//! ("Retaining Form I-9"): a Form I-9 and the copies of the documents presented are kept
//! for three years after the date of hire or one year after the date employment ended,
//! whichever is later, and for as long as the person works. A person never hired has no
//! Form I-9 to keep; their application records are kept one year from the record or
//! the decision, whichever is later (29 CFR 1602.14, the EEOC's rule for application
//! records), long enough for a charge under 8 USC 1324b (180 days) to be answered.
//!
//! Here "hired" is the first verification of a work authorization, "ended" the removal
//! of the account. What is deleted: each document's file (bytes in the file store) and
//! its number. What stays: the document's list, type and expiry, the authorization, the
//! decisions and the audit log (the fact and the decision).

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::model::AuthorizationStatus;
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::model::UserStatus;
use crate::auth::service::find_user;
use crate::auth::RequestCtx;
use crate::db::schema::{decisions, files, users, work_authorization_documents, work_authorizations};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::AppState;

/// What the retention rule reads about one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionFacts {
    /// The first verification of their work authorization (the hire).
    pub hired_on: Option<NaiveDate>,
    /// The removal of the account (the end of the engagement).
    pub ended_on: Option<NaiveDate>,
    /// The latest attestation, upload or decision on their authorizations.
    pub last_activity: NaiveDate,
    /// An authorization is waiting for a reviewer.
    pub in_review: bool,
}

fn years_after(date: NaiveDate, years: u32) -> NaiveDate {
    date.checked_add_months(Months::new(12 * years)).unwrap_or(NaiveDate::MAX)
}

/// The last day the documents must be kept; `None`: keep them (the person still works,
/// or their application is being reviewed). They may be deleted the day after.
pub fn retain_until(f: &RetentionFacts) -> Option<NaiveDate> {
    match f.hired_on {
        Some(hired) => f.ended_on.map(|ended| years_after(hired, 3).max(years_after(ended, 1))),
        None if f.in_review => None,
        None => Some(years_after(f.last_activity, 1)),
    }
}

fn facts_of(conn: &mut DbConn, user_id: i64) -> AppResult<RetentionFacts> {
    use diesel::dsl::{max, min};
    let user = find_user(conn, user_id)?;
    let hired: Option<NaiveDateTime> = decisions::table
        .filter(decisions::user_id.eq(user_id))
        .filter(decisions::subject_type.eq(crate::decisions::DecisionSubject::WorkAuthorization))
        .filter(decisions::outcome.eq(crate::decisions::DecisionOutcome::Verified))
        .select(min(decisions::decided_at))
        .first(conn)?;
    // The engagement ended when the account was removed or its owner closed it.
    let ended_by = match user.status() {
        UserStatus::Removed => Some("removed"),
        UserStatus::Closed => Some("closed"),
        _ => None,
    };
    let ended = match ended_by {
        Some(outcome) => {
            let at: Option<NaiveDateTime> = decisions::table
                .filter(decisions::user_id.eq(user_id))
                .filter(decisions::subject_type.eq(crate::decisions::DecisionSubject::Account))
                .filter(decisions::outcome.eq(outcome))
                .select(max(decisions::decided_at))
                .first(conn)?;
            Some(at.unwrap_or(user.updated_at))
        }
        None => None,
    };
    let rows: Vec<(String, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>)> = work_authorizations::table
        .filter(work_authorizations::user_id.eq(user_id))
        .select((
            work_authorizations::status,
            work_authorizations::attested_at,
            work_authorizations::submitted_at,
            work_authorizations::decided_at,
        ))
        .load(conn)?;
    let in_review = rows.iter().any(|r| r.0 == AuthorizationStatus::PendingReview.as_str());
    let last = rows.iter().flat_map(|r| [Some(r.1), r.2, r.3]).flatten().max().unwrap_or(user.created_at);
    Ok(RetentionFacts {
        hired_on: hired.map(|d| d.date()),
        ended_on: ended.map(|d| d.date()),
        last_activity: last.date(),
        in_review,
    })
}

/// Deletes the files and numbers of the I-9 documents whose retention is over. Each
/// person's documents go in one transaction (numbers cleared, files marked deleted,
/// audited); the stored bytes are removed after it commits. Idempotent. Returns the
/// number of documents purged.
pub fn run_retention(state: &AppState) -> AppResult<usize> {
    let today = state.clock.now().date();
    // People still engaged (verified, active, suspended) keep their documents whatever
    // the dates: only the others are read, so the job stays small.
    let engaged =
        [UserStatus::AuthorizationVerified, UserStatus::Active, UserStatus::Suspended].map(UserStatus::as_str);
    let people: Vec<i64> = state.db.read_sync(|conn| {
        Ok(work_authorization_documents::table
            .inner_join(
                work_authorizations::table.inner_join(users::table.on(users::id.eq(work_authorizations::user_id))),
            )
            .filter(work_authorization_documents::purged_at.is_null())
            .filter(users::status.ne_all(engaged))
            .select(work_authorizations::user_id)
            .distinct()
            .order(work_authorizations::user_id.asc())
            .load(conn)?)
    })?;
    let ctx = RequestCtx::system("job:i9_retention");
    let mut purged = 0;
    for user_id in people {
        let keys: Vec<String> = state.db.tx_sync(|conn| {
            let facts = facts_of(conn, user_id)?;
            let Some(until) = retain_until(&facts).filter(|until| *until < today) else {
                return Ok(Vec::new());
            };
            let docs: Vec<(i64, i64, String)> = work_authorization_documents::table
                .inner_join(work_authorizations::table)
                .inner_join(files::table)
                .filter(work_authorizations::user_id.eq(user_id))
                .filter(work_authorization_documents::purged_at.is_null())
                .select((work_authorization_documents::id, files::id, files::storage_key))
                .load(conn)?;
            let now = state.clock.now();
            let doc_ids: Vec<i64> = docs.iter().map(|d| d.0).collect();
            let file_ids: Vec<i64> = docs.iter().map(|d| d.1).collect();
            diesel::update(
                work_authorization_documents::table.filter(work_authorization_documents::id.eq_any(&doc_ids)),
            )
            .set((
                work_authorization_documents::number_enc.eq(None::<String>),
                work_authorization_documents::purged_at.eq(now),
            ))
            .execute(conn)?;
            diesel::update(files::table.filter(files::id.eq_any(&file_ids)))
                .set(files::deleted_at.eq(now))
                .execute(conn)?;
            audit::record(
                conn,
                now,
                &ctx,
                AuditEvent {
                    actor_id: None,
                    action: AuditAction::WorkAuthorizationDocumentsPurged,
                    subject_type: AuditSubject::User,
                    subject_id: Some(user_id.to_string()),
                    summary: json!({"documents": doc_ids, "files": file_ids, "retain_until": until,
                        "hired_on": facts.hired_on, "ended_on": facts.ended_on}),
                },
            )?;
            Ok(docs.into_iter().map(|d| d.2).collect())
        })?;
        for key in &keys {
            if let Err(e) = state.files.delete(key) {
                tracing::warn!(error = %e, user_id, "an I-9 file marked deleted could not be removed from the store");
            }
        }
        purged += keys.len();
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn hired(on: NaiveDate, ended: Option<NaiveDate>) -> RetentionFacts {
        RetentionFacts { hired_on: Some(on), ended_on: ended, last_activity: on, in_review: false }
    }

    #[test]
    fn three_years_after_hire_or_one_after_the_end_whichever_is_later() {
        // Hired March 1, 2000, left May 1, 2001: three years after hire is later.
        assert_eq!(retain_until(&hired(d(2000, 3, 1), Some(d(2001, 5, 1)))), Some(d(2003, 3, 1)));
        // Hired March 1, 2000, left May 1, 2004: one year after the end is later.
        assert_eq!(retain_until(&hired(d(2000, 3, 1), Some(d(2004, 5, 1)))), Some(d(2005, 5, 1)));
        // Exactly two years of work: both dates fall on the same day.
        assert_eq!(retain_until(&hired(d(2020, 1, 15), Some(d(2022, 1, 15)))), Some(d(2023, 1, 15)));
        // Hired on February 29: three years later is February 28.
        assert_eq!(retain_until(&hired(d(2024, 2, 29), Some(d(2024, 6, 1)))), Some(d(2027, 2, 28)));
    }

    #[test]
    fn kept_while_the_person_works_or_is_reviewed() {
        assert_eq!(retain_until(&hired(d(2000, 3, 1), None)), None, "never while engaged");
        let reviewing =
            RetentionFacts { hired_on: None, ended_on: None, last_activity: d(2020, 1, 1), in_review: true };
        assert_eq!(retain_until(&reviewing), None);
    }

    #[test]
    fn applicants_never_hired_are_kept_one_year() {
        let rejected =
            RetentionFacts { hired_on: None, ended_on: None, last_activity: d(2026, 4, 10), in_review: false };
        assert_eq!(retain_until(&rejected), Some(d(2027, 4, 10)));
    }
}
