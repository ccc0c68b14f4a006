//! Shared mechanics of the review queues (work authorizations, credentials, test
//! answers, work records, appeals): a reviewer claims an item with a lease so no one
//! else decides it, and only the claim holder decides.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::error::{AppError, ProblemCode};
use crate::AppState;

/// Claims row `$id` of the queue table `$t` (a schema module with `id`, `status`,
/// `claimed_by` and `claim_expires_at`) for `$reviewer` until `$until` when it is still
/// `$pending` and unclaimed, its claim has expired, or the reviewer already holds it
/// (which renews the lease). One conditional UPDATE decides between concurrent
/// reviewers on both backends; evaluates to the number of rows changed (1: claimed).
macro_rules! claim_row {
    ($conn:expr, $t:ident, $id:expr, $pending:expr, $reviewer:expr, $now:expr, $until:expr) => {{
        use $crate::db::schema::$t;
        diesel::update(
            $t::table
                .filter($t::id.eq($id))
                .filter($t::status.eq($pending))
                .filter($t::claimed_by.is_null().or($t::claim_expires_at.lt($now)).or($t::claimed_by.eq($reviewer))),
        )
        .set(($t::claimed_by.eq($reviewer), $t::claim_expires_at.eq($until)))
        .execute($conn)
    }};
}
pub(crate) use claim_row;

/// The longest note a decision carries.
pub const NOTE_MAX_CHARS: usize = 2000;

/// A decision's note, trimmed: at most [`NOTE_MAX_CHARS`], and not empty when
/// `required` (the person is told why). Every decision service checks its note here, so
/// the API and the console refuse the same notes.
pub fn note(note: &str, required: bool) -> Result<String, AppError> {
    let note = note.trim();
    if required && note.is_empty() {
        return Err(AppError::field("note", "required", "explain the decision in a note the person will read"));
    }
    if note.chars().count() > NOTE_MAX_CHARS {
        return Err(AppError::field("note", "length", format!("at most {NOTE_MAX_CHARS} characters")));
    }
    Ok(note.to_string())
}

/// A reason code chosen by the reviewer where no fixed list applies (work records,
/// appeals): 1 to 100 characters of lower-case letters, digits and underscores, such as
/// `guidelines_not_followed`.
pub fn free_reason_code(code: &str) -> Result<String, AppError> {
    let code = code.trim();
    let well_formed = !code.is_empty()
        && code.len() <= 100
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return Err(AppError::field(
            "reason_code",
            "format",
            "a reason code of 1 to 100 lower-case letters, digits and underscores, such as guidelines_not_followed",
        ));
    }
    Ok(code.to_string())
}

/// When a claim taken now ends.
pub fn claim_until(state: &AppState, now: NaiveDateTime) -> NaiveDateTime {
    now + chrono::Duration::from_std(state.config.operations.claim_ttl).unwrap_or(chrono::Duration::minutes(30))
}

/// Whether `reviewer` holds a live claim.
pub fn holds_claim(claimed_by: Option<i64>, expires: Option<NaiveDateTime>, reviewer: i64, now: NaiveDateTime) -> bool {
    claimed_by == Some(reviewer) && expires.is_some_and(|t| t > now)
}

/// The answer to a reviewer who lost the race for an item.
pub fn claimed_by_other(expires: Option<NaiveDateTime>) -> AppError {
    AppError::conflict_with(
        ProblemCode::ClaimedByOther,
        "another reviewer holds the claim on this item",
        json!({"claim_expires_at": expires.map(crate::clock::rfc3339)}),
    )
}

/// The answer to a decision from someone without a live claim.
pub fn claim_required() -> AppError {
    AppError::conflict(ProblemCode::ClaimRequired, "claim this item first (or your claim has expired)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_free_reason_codes() {
        assert!(note("  ", true).is_err());
        assert_eq!(note("  ", false).unwrap(), "");
        assert_eq!(note(" why ", true).unwrap(), "why");
        assert!(note(&"é".repeat(NOTE_MAX_CHARS), true).is_ok());
        assert!(note(&"é".repeat(NOTE_MAX_CHARS + 1), false).is_err());
        assert_eq!(free_reason_code(" low_quality ").unwrap(), "low_quality");
        for bad in ["", "Low", "two words", "x;drop", &"a".repeat(101)] {
            assert!(free_reason_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_claim_is_held_until_it_expires() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(12, 0, 0).unwrap();
        let later = now + chrono::Duration::minutes(5);
        assert!(holds_claim(Some(7), Some(later), 7, now));
        assert!(!holds_claim(Some(7), Some(later), 8, now));
        assert!(!holds_claim(Some(7), Some(now), 7, now));
        assert!(!holds_claim(None, None, 7, now));
    }
}

/// Size of one review queue and when its oldest waiting item arrived.
#[derive(Debug, Clone)]
pub struct QueueStat {
    /// The queue's path segment, as in `GET /review/{queue}`.
    pub queue: &'static str,
    pub size: i64,
    pub oldest: Option<NaiveDateTime>,
}

/// Items waiting in a queue table `$t` in state `$pending`, and the earliest `$since`.
macro_rules! waiting {
    ($conn:expr, $t:ident, $pending:expr, $since:ident) => {{
        use diesel::dsl::{count_star, min};
        use $crate::db::schema::$t;
        $t::table
            .filter($t::status.eq($pending))
            .select((count_star(), min($t::$since)))
            .first::<(i64, Option<NaiveDateTime>)>($conn)
    }};
}

/// Size and oldest item of every review queue: the reviewer dashboard.
pub fn stats(conn: &mut crate::db::DbConn) -> crate::error::AppResult<Vec<QueueStat>> {
    use crate::credentials::model::CredentialStatus;
    use crate::onboarding::model::AuthorizationStatus;
    use crate::qualifications::model::ReviewStatus;
    use crate::work::model::WorkStatus;
    use diesel::prelude::*;
    let stat = |queue, (size, oldest): (i64, Option<NaiveDateTime>)| QueueStat { queue, size, oldest };
    Ok(vec![
        stat(
            "work-authorizations",
            waiting!(conn, work_authorizations, AuthorizationStatus::PendingReview.as_str(), submitted_at)?,
        ),
        stat("credentials", waiting!(conn, credentials, CredentialStatus::PendingReview.as_str(), submitted_at)?),
        stat("test-answers", waiting!(conn, test_answer_reviews, ReviewStatus::Pending.as_str(), created_at)?),
        stat("work-records", waiting!(conn, work_records, WorkStatus::Pending.as_str(), ingested_at)?),
        stat("appeals", waiting!(conn, work_appeals, "pending", created_at)?),
        stat("standing-moves", crate::quality::service::waiting(conn)?),
    ])
}
