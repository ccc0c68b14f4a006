//! The review queues (work authorizations, credentials, test answers, work records,
//! appeals, standing moves): one abstraction, [`ReviewQueue`], implemented by each
//! capability for its own queue (list, load, claim, decide), and the mechanics they
//! share: a reviewer claims an item with a lease so no one else decides it ([`claim`],
//! written once), and only the claim holder decides.
//!
//! This module depends on no capability: each implements the trait in its own
//! `queue.rs`, and the callers (the API's claim routes, the console) name the queue.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::RequestCtx;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::AppState;

/// A waiting item as its queue lists it.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub id: i64,
    /// Whom the item is about.
    pub person_id: i64,
    /// One line for the list.
    pub summary: String,
    /// When it started waiting.
    pub since: NaiveDateTime,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub flagged: bool,
    /// Money at stake, in cents (work records and appeals: the pay; 0 elsewhere), for
    /// sorting a queue by amount.
    pub cents: i64,
}

/// What a queue's [`ReviewQueue::list`] and [`ReviewQueue::count`] select, all in the
/// query: a search (the person's name or email, the item's or the person's id, and the
/// item's own text where it has one, such as a task reference), the claim, the day it
/// started waiting, and the credential filters (kind, possible fraud; the other queues
/// ignore them). `list` returns up to `limit` items after the item `after` in the order
/// `sort`/`desc` (keyset: the cursor's sort value is read back by id), so the console
/// reads a queue of any length page by page.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Credentials only: the kind.
    pub kind: Option<crate::credentials::model::CredentialKind>,
    pub flagged: Option<bool>,
    pub search: Option<String>,
    pub show: Show,
    /// Waiting since, on or after.
    pub from: Option<NaiveDateTime>,
    /// Waiting since, before.
    pub to: Option<NaiveDateTime>,
    pub sort: QueueSort,
    pub desc: bool,
    pub limit: Option<i64>,
    pub after: Option<i64>,
}

impl ListFilter {
    /// Rows per read: as asked, else the API's default page.
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(crate::db::page::DEFAULT_LIMIT).max(1)
    }

    /// The search as an id, when it is a whole number (`#12` or `12`).
    pub fn search_id(&self) -> Option<i64> {
        self.search.as_deref().and_then(|s| s.trim().trim_start_matches('#').parse().ok())
    }
}

/// The items a queue lists, by their claim (a lapsed claim counts as none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Show {
    #[default]
    All,
    Unclaimed,
    /// Held by this reviewer now.
    HeldBy(i64),
}

/// The order a queue lists in; ties go by id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum QueueSort {
    /// When the item started waiting.
    #[default]
    Since,
    Id,
    /// The person's name.
    Person,
    /// The money at stake ([`Waiting::cents`]; by id in queues without money).
    Amount,
}

/// Applies a [`ListFilter`]'s search, claim and date filters to `$query`, a boxed query
/// over the queue table `$t` joined with `users` on the item's person `$person`, with
/// `$since` the time the item started waiting and `$text` the item's own searchable
/// text columns (lower-cased and matched with `LIKE`, as the person's name and email).
macro_rules! filter_queue {
    ($query:ident, $f:expr, $now:expr, $t:ident, $person:expr, $since:expr, [$($text:expr),*]) => {{
        use $crate::db::like::{contains_pattern, lower};
        use $crate::db::schema::$t;
        let f: &$crate::review::ListFilter = $f;
        if let Some(text) = &f.search {
            let pattern = contains_pattern(text.trim());
            let by_text = $crate::person_like!(text.trim())
                $(.or(lower($text).like(pattern.clone()).escape('\\')))*;
            $query = match f.search_id() {
                Some(id) => $query.filter(by_text.or($t::id.eq(id)).or($person.eq(id))),
                None => $query.filter(by_text),
            };
        }
        match f.show {
            $crate::review::Show::All => {}
            $crate::review::Show::Unclaimed => {
                $query = $query.filter(
                    $t::claimed_by.is_null().or($t::claim_expires_at.is_null()).or($t::claim_expires_at.le($now)),
                )
            }
            $crate::review::Show::HeldBy(reviewer) => {
                $query = $query.filter($t::claimed_by.eq(reviewer).and($t::claim_expires_at.gt($now)))
            }
        }
        if let Some(from) = f.from {
            $query = $query.filter($since.ge(from));
        }
        if let Some(to) = f.to {
            $query = $query.filter($since.lt(to));
        }
    }};
}
pub(crate) use filter_queue;

/// Orders `$query` (filtered by [`filter_queue!`]) as the [`ListFilter`] asks and starts
/// it after the cursor's item, whose sort value is read back from `$source` (the queue
/// table joined with `users`, without the filters); `$cents` is the money column, or
/// the id in queues without money.
macro_rules! order_queue {
    ($query:ident, $conn:expr, $f:expr, $source:expr, $id:expr, $since:expr, $cents:expr) => {{
        use $crate::db::schema::users;
        let f: &$crate::review::ListFilter = $f;
        let (after, desc) = (f.after, f.desc);
        match f.sort {
            $crate::review::QueueSort::Since => {
                $crate::keyset_after!($query, $conn, $source, $since, $id, chrono::NaiveDateTime, after, desc)
            }
            $crate::review::QueueSort::Id => $crate::keyset_after!($query, $conn, $source, $id, $id, i64, after, desc),
            $crate::review::QueueSort::Person => {
                $crate::keyset_after!($query, $conn, $source, users::full_name, $id, String, after, desc)
            }
            $crate::review::QueueSort::Amount => {
                $crate::keyset_after!($query, $conn, $source, $cents, $id, i64, after, desc)
            }
        }
        $query = $query.limit(f.limit());
    }};
}
pub(crate) use order_queue;

/// What a decision asks for.
#[derive(Debug, Clone)]
pub enum Form {
    /// An outcome and one of its reason codes (authorizations, credentials): the form
    /// posts `outcome:reason_code`.
    Reasons(Vec<ReasonGroup>),
    /// A verdict (`value`, label) and a free reason code (work records, appeals,
    /// standing moves).
    Verdicts(Vec<(&'static str, &'static str)>),
    /// Whole points up to a maximum (test answers).
    Points(i64),
}

#[derive(Debug, Clone)]
pub struct ReasonGroup {
    pub outcome: &'static str,
    pub label: &'static str,
    pub codes: Vec<&'static str>,
}

/// One item as a reviewer sees it.
#[derive(Debug, Clone)]
pub struct Item {
    pub person_id: i64,
    pub heading: String,
    /// Labelled facts, in order.
    pub facts: Vec<(String, String)>,
    /// Documents to show beside it: (file id, label).
    pub file_ids: Vec<(i64, String)>,
    /// Whether it still waits for a decision.
    pub pending: bool,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub form: Form,
}

/// A decision as a form posts it; each queue reads the fields it asks for ([`Form`]).
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// `outcome:reason_code` ([`Form::Reasons`]) or a verdict ([`Form::Verdicts`]).
    pub decision: String,
    pub reason_code: String,
    pub points: Option<String>,
    pub note: String,
}

impl Decision {
    /// The outcome or verdict, and the reason code (from `outcome:reason_code`, or the
    /// free reason code field).
    pub fn parts(&self) -> (&str, &str) {
        match self.decision.split_once(':') {
            Some((outcome, reason)) => (outcome, reason),
            None => (self.decision.as_str(), self.reason_code.trim()),
        }
    }
}

/// Reads a form's choice as one of a closed set (a serde enum), or a field error.
pub fn choice<T: serde::de::DeserializeOwned>(field: &str, value: &str) -> AppResult<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| AppError::field(field, "invalid", format!("{value:?} is not a choice of this form")))
}

/// A claim's UPDATE, once the queue's own rules allowed it.
pub struct Taken {
    /// Who held the item before (for the audit record).
    pub claimed_by: Option<i64>,
    /// Rows the conditional UPDATE changed: 1 when the claim is taken.
    pub rows: usize,
}

/// A review queue. Implemented by each capability for its own queue; the API's claim
/// routes call [`claim`] with it, and the console lists, shows, claims and decides
/// through it alone.
pub trait ReviewQueue: Sync {
    /// The path segment, as in `GET /review/{queue}` and `/console/review/{queue}`.
    fn slug(&self) -> &'static str;
    fn title(&self) -> &'static str;
    /// The audit subject type of an item (`work_record`, …).
    fn subject_type(&self) -> AuditSubject;
    /// The audit action of a claim (`work_record.claimed`, …).
    fn claimed_action(&self) -> AuditAction;
    /// How many items wait and since when the oldest (the reviewers' dashboard).
    fn waiting(&self, conn: &mut DbConn) -> AppResult<(i64, Option<NaiveDateTime>)>;
    /// Waiting items the filter selects, a page in its order ([`ListFilter`]).
    fn list(&self, st: &AppState, filter: &ListFilter) -> AppResult<Vec<Waiting>>;
    /// How many waiting items the filter selects (its cursor, order and limit aside).
    fn count(&self, st: &AppState, filter: &ListFilter) -> AppResult<i64>;
    /// One item.
    fn load(&self, conn: &mut DbConn, id: i64) -> AppResult<Item>;
    /// Claims item `id` for `reviewer` until `until` if they may now (not their own,
    /// still waiting, and the queue's own rules): the conditional UPDATE (`claim_row!`)
    /// requires the item still in the status it was checked in, typed by the queue.
    fn take_claim(
        &self,
        conn: &mut DbConn,
        id: i64,
        reviewer: i64,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> AppResult<Taken>;
    /// The claim holder decides, through the same service function as the API.
    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, decision: Decision) -> AppResult<()>;
}

/// One labelled line of an item's facts, as the review pages show it.
pub fn fact(label: &str, value: impl Into<String>) -> (String, String) {
    (label.to_string(), value.into())
}

/// Claims item `id` of `queue` for `reviewer` until the lease ends
/// (`GATEHOUSE_CLAIM_TTL_MINUTES`): the queue's rules first, then one conditional UPDATE
/// ([`ReviewQueue::take_claim`]) decides between concurrent reviewers on both backends
/// (the loser is told until when the item is held), and the claim is audited. Renewing
/// one's own claim extends it.
pub fn claim(st: &AppState, ctx: &RequestCtx, queue: &dyn ReviewQueue, reviewer: i64, id: i64) -> AppResult<()> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let until = claim_until(st, now);
        let before = queue.take_claim(conn, id, reviewer, now, until)?;
        if before.rows != 1 {
            return Err(claimed_by_other(queue.load(conn, id)?.claim_expires_at));
        }
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(reviewer),
                action: queue.claimed_action(),
                subject_type: queue.subject_type(),
                subject_id: Some(id.to_string()),
                summary: json!({"before": {"claimed_by": before.claimed_by},
                    "after": {"claimed_by": reviewer, "claim_expires_at": crate::clock::rfc3339(until)}}),
            },
        )?;
        Ok(())
    })
}

/// Size and oldest item of every queue in `queues`: the reviewers' dashboard.
pub fn stats(conn: &mut DbConn, queues: &[&dyn ReviewQueue]) -> AppResult<Vec<QueueStat>> {
    queues
        .iter()
        .map(|q| {
            let (size, oldest) = q.waiting(conn)?;
            Ok(QueueStat { queue: q.slug(), size, oldest })
        })
        .collect()
}

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

/// Items waiting in a queue table `$t` in state `$pending`, and the earliest `$since`:
/// [`ReviewQueue::waiting`] of most queues.
macro_rules! waiting {
    ($conn:expr, $t:ident, $pending:expr, $since:ident) => {{
        use diesel::dsl::{count_star, min};
        use $crate::db::schema::$t;
        Ok($t::table
            .filter($t::status.eq($pending))
            .select((count_star(), min($t::$since)))
            .first::<(i64, Option<chrono::NaiveDateTime>)>($conn)?)
    }};
}
pub(crate) use waiting;
