//! Rules and transactions of qualification tests: authoring (versioned), attempts,
//! grading, the free-text review queue, qualifications and project types. No HTTP here;
//! the routes turn these results into DTOs that never carry answer keys.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use validator::Validate;

use super::grading;
use super::model::*;
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::RequestCtx;
use crate::db::schema::{
    project_types, qualification_tests, qualifications, test_answer_reviews, test_attempts, test_versions,
};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldError, ProblemCode};
use crate::notifications::{self, templates};
use crate::review;
use crate::AppState;

/// What an admin writes to create a test or a new version of one.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestDefinition {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub domain: String,
    pub tier: Tier,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[validate(range(min = 1, max = 1440))]
    #[schema(minimum = 1, maximum = 1440)]
    #[serde(deserialize_with = "crate::wire::whole")]
    pub time_limit_minutes: i32,
    /// Percent of the points needed to pass, 1 to 100.
    #[validate(range(min = 1, max = 100))]
    #[schema(minimum = 1, maximum = 100)]
    #[serde(deserialize_with = "crate::wire::whole")]
    pub pass_mark_percent: i32,
    #[validate(range(min = 1, max = 100))]
    #[schema(minimum = 1, maximum = 100)]
    #[serde(deserialize_with = "crate::wire::whole")]
    pub attempt_limit: i32,
    /// Hours to wait after a finished attempt before the next one.
    #[validate(range(min = 0, max = 8760))]
    #[schema(minimum = 0, maximum = 8760)]
    #[serde(deserialize_with = "crate::wire::whole")]
    pub cooldown_hours: i32,
    /// Paid on completion by the ledger; recorded on each attempt.
    #[validate(range(min = 0, max = 10_000_000))]
    #[schema(minimum = 0, maximum = 10_000_000)]
    #[serde(default, deserialize_with = "crate::wire::whole_opt")]
    pub stipend_cents: Option<i64>,
    /// Validity of the qualification a pass grants; forever when absent.
    #[validate(range(min = 1, max = 3650))]
    #[schema(minimum = 1, maximum = 3650)]
    #[serde(default, deserialize_with = "crate::wire::whole_opt")]
    pub qualification_valid_days: Option<i32>,
    #[serde(default)]
    pub prerequisites: Vec<Prerequisite>,
    #[validate(length(min = 1, max = 50))]
    #[schema(min_items = 1, max_items = 50)]
    pub sections: Vec<Section>,
}

/// Checks what the derive cannot: questions, keys and draws that make sense.
fn check_content(def: &TestDefinition) -> AppResult<()> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (s, section) in def.sections.iter().enumerate() {
        let at = format!("sections[{s}]");
        if section.title.trim().is_empty() {
            errors.push(FieldError::new(&format!("{at}.title"), "required", "give the section a title"));
        }
        if section.questions.is_empty() {
            errors.push(FieldError::new(&format!("{at}.questions"), "length", "a section needs questions"));
        }
        if let Some(n) = section.draw {
            if n == 0 || n > section.questions.len() {
                errors.push(FieldError::new(&format!("{at}.draw"), "range", "draw 1 to the number of questions"));
            }
        }
        for (i, q) in section.questions.iter().enumerate() {
            let at = format!("{at}.questions[{i}]");
            let mut bad = |code: &str, msg: &str| errors.push(FieldError::new(&at, code, msg));
            if q.id.trim().is_empty() || q.id.len() > 64 || !seen.insert(q.id.clone()) {
                bad("id", "question ids must be unique, 1 to 64 characters");
            }
            if q.prompt.trim().is_empty() {
                bad("required", "the prompt is empty");
            }
            if !(1..=100).contains(&q.points) {
                bad("range", "points must be 1 to 100");
            }
            match &q.kind {
                QuestionKind::SingleChoice { options, correct } => {
                    if !options_ok(options) || !options.iter().any(|o| &o.id == correct) {
                        bad("key", "options need unique ids and the correct id must be one of them");
                    }
                }
                QuestionKind::MultipleChoice { options, correct } => {
                    let ids: BTreeSet<&String> = options.iter().map(|o| &o.id).collect();
                    if !options_ok(options) || correct.is_empty() || !correct.iter().all(|c| ids.contains(c)) {
                        bad("key", "options need unique ids and every correct id must be one of them");
                    }
                }
                QuestionKind::Numeric { answer, tolerance } => {
                    if !answer.is_finite() || !tolerance.is_finite() || *tolerance < 0.0 {
                        bad("key", "the answer must be a number and the tolerance zero or more");
                    }
                }
                QuestionKind::FreeText { rubric } => {
                    if rubric.trim().is_empty() {
                        bad("key", "free-text questions need a rubric for the reviewer");
                    }
                }
            }
        }
    }
    for (i, p) in def.prerequisites.iter().enumerate() {
        let at = format!("prerequisites[{i}]");
        match p {
            Prerequisite::Qualification { domain, tier } => {
                if domain.trim().is_empty() {
                    errors.push(FieldError::new(&at, "required", "name the domain"));
                } else if domain == &def.domain && *tier == def.tier {
                    errors.push(FieldError::new(&at, "circular", "a test cannot require its own qualification"));
                }
            }
            Prerequisite::Credential { domain, .. } => {
                if domain.trim().is_empty() {
                    errors.push(FieldError::new(&at, "required", "name the credential domain"));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

fn options_ok(options: &[Choice]) -> bool {
    let ids: BTreeSet<&str> = options.iter().map(|o| o.id.as_str()).collect();
    options.len() >= 2 && ids.len() == options.len() && options.iter().all(|o| !o.id.trim().is_empty())
}

fn to_json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.into()))
}

fn test_row(conn: &mut DbConn, id: i64) -> AppResult<TestRow> {
    Ok(qualification_tests::table.find(id).select(TestRow::as_select()).first(conn)?)
}

fn version_row(conn: &mut DbConn, id: i64) -> AppResult<VersionRow> {
    Ok(test_versions::table.find(id).select(VersionRow::as_select()).first(conn)?)
}

fn current_version(conn: &mut DbConn, test: &TestRow) -> AppResult<VersionRow> {
    Ok(test_versions::table
        .filter(test_versions::test_id.eq(test.id))
        .filter(test_versions::version.eq(test.current_version))
        .select(VersionRow::as_select())
        .first(conn)?)
}

fn insert_version(
    conn: &mut DbConn,
    now: NaiveDateTime,
    test_id: i64,
    version: i32,
    admin_id: i64,
    def: &TestDefinition,
) -> AppResult<VersionRow> {
    let id = diesel::insert_into(test_versions::table)
        .values(NewVersionRow {
            test_id,
            version,
            time_limit_minutes: def.time_limit_minutes,
            pass_mark_percent: def.pass_mark_percent,
            attempt_limit: def.attempt_limit,
            cooldown_hours: def.cooldown_hours,
            stipend_cents: def.stipend_cents,
            qualification_valid_days: def.qualification_valid_days,
            prerequisites: &to_json(&def.prerequisites)?,
            sections: &to_json(&def.sections)?,
            created_by: admin_id,
            created_at: now,
        })
        .returning(test_versions::id)
        .get_result::<i64>(conn)?;
    version_row(conn, id)
}

fn version_summary(test: &TestRow, v: &VersionRow) -> AppResult<serde_json::Value> {
    Ok(json!({
        "domain": test.domain, "tier": test.tier, "title": test.title, "version": v.version,
        "time_limit_minutes": v.time_limit_minutes, "pass_mark_percent": v.pass_mark_percent,
        "attempt_limit": v.attempt_limit, "cooldown_hours": v.cooldown_hours, "stipend_cents": v.stipend_cents,
        "questions": v.sections()?.iter().map(|s| s.questions.len()).sum::<usize>(),
    }))
}

/// An admin creates a test (version 1).
pub fn create_test(
    st: &AppState,
    ctx: &RequestCtx,
    admin_id: i64,
    def: TestDefinition,
) -> AppResult<(TestRow, VersionRow)> {
    check_content(&def)?;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let id = diesel::insert_into(qualification_tests::table)
            .values(NewTestRow {
                domain: def.domain.trim(),
                tier: def.tier,
                title: def.title.trim(),
                status: TestStatus::Active,
                current_version: 1,
                created_by: admin_id,
                created_at: now,
                updated_at: now,
            })
            .returning(qualification_tests::id)
            .get_result::<i64>(conn)?;
        let version = insert_version(conn, now, id, 1, admin_id, &def)?;
        let test = test_row(conn, id)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::TestCreated,
                subject_type: AuditSubject::QualificationTest,
                subject_id: Some(id.to_string()),
                summary: json!({"after": version_summary(&test, &version)?}),
            },
        )?;
        Ok((test, version))
    })
}

/// An edit makes a new version; attempts already started keep theirs. The domain and
/// tier are the identity of what the test grants, so they cannot change.
pub fn update_test(
    st: &AppState,
    ctx: &RequestCtx,
    admin_id: i64,
    test_id: i64,
    def: TestDefinition,
) -> AppResult<(TestRow, VersionRow)> {
    check_content(&def)?;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let before = test_row(conn, test_id)?;
        if before.status == TestStatus::Retired {
            return Err(AppError::conflict(ProblemCode::TestRetired, "a retired test cannot be edited"));
        }
        if before.domain != def.domain.trim() || before.tier != def.tier {
            return Err(AppError::field("domain", "immutable", "domain and tier cannot change; create a new test"));
        }
        let old = current_version(conn, &before)?;
        let next = before.current_version + 1;
        let version = insert_version(conn, now, test_id, next, admin_id, &def)?;
        diesel::update(qualification_tests::table.find(test_id))
            .set((
                qualification_tests::title.eq(def.title.trim()),
                qualification_tests::current_version.eq(next),
                qualification_tests::updated_at.eq(now),
            ))
            .execute(conn)?;
        let test = test_row(conn, test_id)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::TestVersioned,
                subject_type: AuditSubject::QualificationTest,
                subject_id: Some(test_id.to_string()),
                summary: json!({"before": version_summary(&before, &old)?, "after": version_summary(&test, &version)?}),
            },
        )?;
        Ok((test, version))
    })
}

/// Retired tests accept no new attempts; attempts in progress may still finish.
pub fn retire_test(st: &AppState, ctx: &RequestCtx, admin_id: i64, test_id: i64) -> AppResult<(TestRow, VersionRow)> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let test = test_row(conn, test_id)?;
        if test.status == TestStatus::Retired {
            return Err(AppError::conflict(ProblemCode::TestRetired, "the test is already retired"));
        }
        diesel::update(qualification_tests::table.find(test_id))
            .set((
                qualification_tests::status.eq(TestStatus::Retired.as_str()),
                qualification_tests::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::TestRetired,
                subject_type: AuditSubject::QualificationTest,
                subject_id: Some(test_id.to_string()),
                summary: json!({"before": {"status": test.status}, "after": {"status": "retired"}}),
            },
        )?;
        let test = test_row(conn, test_id)?;
        let version = current_version(conn, &test)?;
        Ok((test, version))
    })
}

/// Why someone may not start a test now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Blocker {
    /// `attempt_in_progress`, `result_pending`, `already_qualified`, `attempts_exhausted`,
    /// `cooldown` or `prerequisite_missing`.
    pub code: ProblemCode,
    pub detail: String,
    /// When the next attempt becomes possible, if a date decides it.
    #[serde(with = "crate::clock::utc_opt")]
    pub next_attempt_at: Option<NaiveDateTime>,
}

impl Blocker {
    fn new(code: ProblemCode, detail: impl Into<String>, next_attempt_at: Option<NaiveDateTime>) -> Self {
        Self { code, detail: detail.into(), next_attempt_at }
    }

    fn into_error(self, extra: serde_json::Value) -> AppError {
        let mut ext = json!({"reason": self.code, "next_attempt_at": self.next_attempt_at.map(crate::clock::rfc3339)});
        if let (Some(map), serde_json::Value::Object(more)) = (ext.as_object_mut(), extra) {
            map.extend(more);
        }
        AppError::conflict_with(self.code, self.detail, ext)
    }
}

/// True when `user_id` holds an active qualification satisfying `domain` at `tier`.
pub fn holds_qualification(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: i64,
    domain: &str,
    tier: Tier,
) -> AppResult<bool> {
    let rows: Vec<QualificationRow> = qualifications::table
        .filter(qualifications::user_id.eq(user_id))
        .filter(qualifications::domain.eq(domain))
        .filter(qualifications::revoked_at.is_null())
        .select(QualificationRow::as_select())
        .load(conn)?;
    Ok(rows.iter().any(|q| q.is_active(now) && q.tier.satisfies(tier)))
}

/// The hook the credentials issue fills: whether `user_id` holds a verified credential
/// matching `prereq` (kind, level, domain). Credentials do not exist yet, so no
/// credential prerequisite is met; tests that need one stay blocked with a clear reason.
/// A credential prerequisite is met by a verified, unexpired credential of that kind,
/// level and domain.
pub fn credential_prerequisite_met(conn: &mut DbConn, user_id: i64, prereq: &Prerequisite) -> AppResult<bool> {
    match prereq {
        Prerequisite::Credential { kind, level, domain } => {
            crate::credentials::service::holds_verified(conn, user_id, *kind, *level, domain)
        }
        Prerequisite::Qualification { .. } => Ok(false),
    }
}

/// A qualification to grant, from a passed test or a verified credential.
pub struct Grant<'a> {
    pub user_id: i64,
    pub domain: &'a str,
    pub tier: Tier,
    /// Where it comes from, e.g. `test:3:attempt:9` or `credential:12`; one grant per source.
    pub source: &'a str,
    pub expires_at: Option<NaiveDateTime>,
}

/// Records a qualification, audits it, and makes a contributor whose work authorization
/// is verified `active` with their first qualification.
pub fn grant_qualification(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    actor_id: Option<i64>,
    g: Grant<'_>,
) -> AppResult<i64> {
    let qid = diesel::insert_into(qualifications::table)
        .values(NewQualificationRow {
            user_id: g.user_id,
            domain: g.domain,
            tier: g.tier,
            source: g.source,
            granted_at: now,
            expires_at: g.expires_at,
        })
        .returning(qualifications::id)
        .get_result::<i64>(conn)?;
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id,
            action: AuditAction::QualificationGranted,
            subject_type: AuditSubject::User,
            subject_id: Some(g.user_id.to_string()),
            summary: json!({"after": {"qualification_id": qid, "domain": g.domain, "tier": g.tier, "source": g.source}}),
        },
    )?;
    let user = crate::auth::service::find_user(conn, g.user_id)?;
    if user.status() == crate::auth::model::UserStatus::AuthorizationVerified {
        crate::onboarding::service::transition(
            conn,
            now,
            ctx,
            actor_id,
            &user,
            crate::onboarding::lifecycle::Transition::Activate,
            Some("first_qualification"),
            None,
        )?;
    }
    Ok(qid)
}

fn prerequisite_met(conn: &mut DbConn, now: NaiveDateTime, user_id: i64, prereq: &Prerequisite) -> AppResult<bool> {
    match prereq {
        Prerequisite::Qualification { domain, tier } => holds_qualification(conn, now, user_id, domain, *tier),
        Prerequisite::Credential { .. } => credential_prerequisite_met(conn, user_id, prereq),
    }
}

fn describe(prereq: &Prerequisite) -> String {
    match prereq {
        Prerequisite::Qualification { domain, tier } => {
            format!("requires the {} {} qualification", domain, tier.as_str())
        }
        Prerequisite::Credential { kind, level, domain } => match level {
            Some(level) => format!("requires a verified {kind} ({level}) in {domain}"),
            None => format!("requires a verified {kind} in {domain}"),
        },
    }
}

fn open_attempt(conn: &mut DbConn, user_id: i64) -> AppResult<Option<AttemptRow>> {
    Ok(test_attempts::table
        .filter(test_attempts::user_id.eq(user_id))
        .filter(test_attempts::status.eq(AttemptStatus::InProgress.as_str()))
        .select(AttemptRow::as_select())
        .first(conn)
        .optional()?)
}

/// Everything that stops `user_id` from starting `test` now, most pressing first.
fn blockers(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: i64,
    test: &TestRow,
    version: &VersionRow,
    open: Option<&AttemptRow>,
) -> AppResult<(i64, Vec<Blocker>)> {
    let mut out = Vec::new();
    if let Some(open) = open {
        out.push(Blocker::new(
            ProblemCode::AttemptInProgress,
            format!("attempt {} is in progress; finish it first", open.id),
            Some(open.deadline_at),
        ));
    }
    let past: Vec<AttemptRow> = test_attempts::table
        .filter(test_attempts::user_id.eq(user_id))
        .filter(test_attempts::test_id.eq(test.id))
        .filter(test_attempts::status.ne(AttemptStatus::InProgress.as_str()))
        .order(test_attempts::id.asc())
        .select(AttemptRow::as_select())
        .load(conn)?;
    let used = past.len() as i64;
    let tier = test.tier;
    if past.iter().any(|a| a.status() == AttemptStatus::Grading) {
        out.push(Blocker::new(ProblemCode::ResultPending, "your last attempt is being graded", None));
    } else if holds_qualification(conn, now, user_id, &test.domain, tier)? {
        out.push(Blocker::new(
            ProblemCode::AlreadyQualified,
            "you already hold the qualification this test grants",
            None,
        ));
    } else if used >= i64::from(version.attempt_limit) {
        out.push(Blocker::new(
            ProblemCode::AttemptsExhausted,
            format!("all {} allowed attempts are used; no further attempt is possible", version.attempt_limit),
            None,
        ));
    } else if let Some(finished) = past.iter().filter_map(|a| a.submitted_at).max() {
        let next = finished + Duration::hours(i64::from(version.cooldown_hours));
        if next > now {
            out.push(Blocker::new(
                ProblemCode::Cooldown,
                format!("the next attempt is allowed from {} UTC", next.format("%Y-%m-%d %H:%M:%S")),
                Some(next),
            ));
        }
    }
    for prereq in version.prerequisites()? {
        if !prerequisite_met(conn, now, user_id, &prereq)? {
            out.push(Blocker::new(ProblemCode::PrerequisiteMissing, describe(&prereq), None));
        }
    }
    Ok((used, out))
}

pub struct TestAvailability {
    pub test: TestRow,
    pub version: VersionRow,
    pub attempts_used: i64,
    pub blockers: Vec<Blocker>,
}

/// Active tests (keyset-paginated on the id) with what, if anything, stops the
/// applicant from starting each one now.
pub fn list_for_applicant(
    st: &AppState,
    user_id: i64,
    after: Option<i64>,
    limit: Option<i64>,
) -> AppResult<Vec<TestAvailability>> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        close_expired_in(conn, st, now, Some(user_id))?;
        let tests: Vec<TestRow> = qualification_tests::table
            .filter(qualification_tests::status.eq(TestStatus::Active.as_str()))
            .filter(qualification_tests::id.gt(after.unwrap_or(0)))
            .order(qualification_tests::id.asc())
            .limit(crate::db::page_limit(limit))
            .select(TestRow::as_select())
            .load(conn)?;
        let open = open_attempt(conn, user_id)?;
        let mut out = Vec::with_capacity(tests.len());
        for test in tests {
            let version = current_version(conn, &test)?;
            let (attempts_used, blockers) = blockers(conn, now, user_id, &test, &version, open.as_ref())?;
            out.push(TestAvailability { test, version, attempts_used, blockers });
        }
        Ok(out)
    })
}

/// An attempt with the version it runs on (the source of its questions).
pub struct AttemptDetail {
    pub attempt: AttemptRow,
    pub test: TestRow,
    pub version: VersionRow,
    pub pending_reviews: i64,
    /// Until when answers are accepted: the deadline plus the grace.
    pub accepts_until: NaiveDateTime,
}

fn grace(st: &AppState) -> Duration {
    Duration::from_std(st.config.qualifications.answer_grace).unwrap_or(Duration::seconds(30))
}

fn detail(conn: &mut DbConn, st: &AppState, attempt: AttemptRow) -> AppResult<AttemptDetail> {
    let test = test_row(conn, attempt.test_id)?;
    let version = version_row(conn, attempt.test_version_id)?;
    let pending_reviews = test_answer_reviews::table
        .filter(test_answer_reviews::attempt_id.eq(attempt.id))
        .filter(test_answer_reviews::status.eq(ReviewStatus::Pending.as_str()))
        .count()
        .get_result(conn)?;
    let accepts_until = attempt.deadline_at + grace(st);
    Ok(AttemptDetail { attempt, test, version, pending_reviews, accepts_until })
}

/// Starts an attempt: one in progress per person across all tests; the server sets the
/// deadline and draws the questions.
pub fn start_attempt(st: &AppState, user_id: i64, test_id: i64) -> AppResult<AttemptDetail> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        close_expired_in(conn, st, now, Some(user_id))?;
        let test = test_row(conn, test_id)?;
        if test.status != TestStatus::Active {
            return Err(AppError::conflict(ProblemCode::TestRetired, "this test no longer accepts attempts"));
        }
        let version = current_version(conn, &test)?;
        let open = open_attempt(conn, user_id)?;
        let (used, blockers) = blockers(conn, now, user_id, &test, &version, open.as_ref())?;
        if let Some(first) = blockers.into_iter().next() {
            let extra = match first.code {
                ProblemCode::AttemptInProgress => json!({"attempt_id": open.map(|a| a.id)}),
                ProblemCode::AttemptsExhausted => {
                    json!({"attempts_used": used, "attempt_limit": version.attempt_limit})
                }
                _ => json!({}),
            };
            return Err(first.into_error(extra));
        }
        let drawn = grading::draw_questions(&version.sections()?, &mut rand::thread_rng());
        let inserted = diesel::insert_into(test_attempts::table)
            .values(NewAttemptRow {
                test_id,
                test_version_id: version.id,
                user_id,
                status: AttemptStatus::InProgress,
                question_ids: &to_json(&drawn)?,
                answers: "{}",
                started_at: now,
                deadline_at: now + Duration::minutes(i64::from(version.time_limit_minutes)),
                stipend_cents: version.stipend_cents,
            })
            .returning(test_attempts::id)
            .get_result::<i64>(conn);
        let id = match inserted {
            Ok(id) => id,
            // The partial unique index is the backstop for two concurrent starts.
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                return Err(AppError::conflict_with(
                    ProblemCode::AttemptInProgress,
                    "another attempt is in progress; finish it first",
                    json!({"reason": "attempt_in_progress", "next_attempt_at": null}),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let attempt = attempt_row(conn, id)?;
        detail(conn, st, attempt)
    })
}

fn attempt_row(conn: &mut DbConn, id: i64) -> AppResult<AttemptRow> {
    Ok(test_attempts::table.find(id).select(AttemptRow::as_select()).first(conn)?)
}

/// The attempt `id` if `user_id` owns it; anyone else gets "not found".
fn own_attempt(conn: &mut DbConn, user_id: i64, id: i64) -> AppResult<AttemptRow> {
    Ok(test_attempts::table
        .filter(test_attempts::id.eq(id))
        .filter(test_attempts::user_id.eq(user_id))
        .select(AttemptRow::as_select())
        .first(conn)?)
}

pub fn get_attempt(st: &AppState, user_id: i64, id: i64) -> AppResult<AttemptDetail> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        own_attempt(conn, user_id, id)?;
        close_expired_in(conn, st, now, Some(user_id))?;
        let attempt = own_attempt(conn, user_id, id)?;
        detail(conn, st, attempt)
    })
}

fn writable(st: &AppState, attempt: &AttemptRow, now: NaiveDateTime) -> AppResult<()> {
    if attempt.status() != AttemptStatus::InProgress {
        return Err(AppError::conflict(ProblemCode::AttemptClosed, "this attempt is closed"));
    }
    let until = attempt.deadline_at + grace(st);
    if now > until {
        return Err(AppError::conflict_with(
            ProblemCode::DeadlinePassed,
            format!("the deadline of this attempt passed at {} UTC", attempt.deadline_at.format("%Y-%m-%d %H:%M:%S")),
            json!({"deadline_at": crate::clock::rfc3339(attempt.deadline_at), "accepted_until": crate::clock::rfc3339(until)}),
        ));
    }
    Ok(())
}

fn check_answer(q: &Question, a: &Answer) -> bool {
    match (&q.kind, a) {
        (QuestionKind::SingleChoice { options, .. }, Answer::Text(id)) => options.iter().any(|o| &o.id == id),
        (QuestionKind::MultipleChoice { options, .. }, Answer::Many(ids)) => {
            ids.len() <= options.len() && ids.iter().all(|id| options.iter().any(|o| &o.id == id))
        }
        (QuestionKind::Numeric { .. }, Answer::Number(x)) => x.is_finite(),
        (QuestionKind::FreeText { .. }, Answer::Text(t)) => t.chars().count() <= 20_000,
        _ => false,
    }
}

fn questions_by_id(version: &VersionRow) -> AppResult<BTreeMap<String, Question>> {
    Ok(version.sections()?.into_iter().flat_map(|s| s.questions).map(|q| (q.id.clone(), q)).collect())
}

/// Autosave: merges `answers` into the attempt's saved answers.
pub fn save_answers(st: &AppState, user_id: i64, id: i64, answers: Answers) -> AppResult<AttemptDetail> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let attempt = own_attempt(conn, user_id, id)?;
        writable(st, &attempt, now)?;
        let version = version_row(conn, attempt.test_version_id)?;
        let questions = questions_by_id(&version)?;
        let drawn: BTreeSet<String> = attempt.question_ids()?.into_iter().collect();
        let errors: Vec<FieldError> = answers
            .iter()
            .filter(|(qid, a)| !drawn.contains(*qid) || !questions.get(*qid).is_some_and(|q| check_answer(q, a)))
            .map(|(qid, _)| {
                FieldError::new(
                    &format!("answers.{qid}"),
                    "answer",
                    "not a question of this attempt, or the wrong kind of answer",
                )
            })
            .collect();
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let mut saved = attempt.answers()?;
        saved.extend(answers);
        diesel::update(test_attempts::table.find(id)).set(test_attempts::answers.eq(to_json(&saved)?)).execute(conn)?;
        let attempt = attempt_row(conn, id)?;
        detail(conn, st, attempt)
    })
}

/// Submission: objective questions are scored now; free-text answers go to reviewers.
pub fn submit(st: &AppState, user_id: i64, id: i64) -> AppResult<AttemptDetail> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let attempt = own_attempt(conn, user_id, id)?;
        writable(st, &attempt, now)?;
        close_attempt(conn, now, &attempt, now)?;
        let attempt = attempt_row(conn, id)?;
        detail(conn, st, attempt)
    })
}

/// Closes an in-progress attempt at `closed_at`: scores objective answers, queues the
/// free-text ones, and finalises when nothing waits for a reviewer. The status change is
/// a conditional UPDATE, so two callers (a request and the job) never close it twice.
fn close_attempt(
    conn: &mut DbConn,
    now: NaiveDateTime,
    attempt: &AttemptRow,
    closed_at: NaiveDateTime,
) -> AppResult<bool> {
    let version = version_row(conn, attempt.test_version_id)?;
    let questions = questions_by_id(&version)?;
    let answers = attempt.answers()?;
    let mut scores = BTreeMap::new();
    let mut reviews = Vec::new();
    for qid in attempt.question_ids()? {
        let Some(q) = questions.get(&qid) else { continue };
        let given = answers.get(&qid);
        match grading::score_objective(q, given) {
            Some(points) => {
                scores.insert(qid, points);
            }
            None => match given {
                Some(Answer::Text(text)) if !text.trim().is_empty() => reviews.push((qid, text.clone(), q.points)),
                // An unanswered free-text question scores nothing; no reviewer needed.
                _ => {
                    scores.insert(qid, 0);
                }
            },
        }
    }
    let changed = diesel::update(
        test_attempts::table
            .filter(test_attempts::id.eq(attempt.id))
            .filter(test_attempts::status.eq(AttemptStatus::InProgress.as_str())),
    )
    .set((
        test_attempts::status.eq(AttemptStatus::Grading.as_str()),
        test_attempts::submitted_at.eq(closed_at),
        test_attempts::objective_scores.eq(to_json(&scores)?),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    for (qid, text, points) in &reviews {
        diesel::insert_into(test_answer_reviews::table)
            .values(NewReviewRow {
                attempt_id: attempt.id,
                question_id: qid,
                answer_text: text,
                max_points: points * MILLI,
                status: ReviewStatus::Pending,
                created_at: now,
            })
            .execute(conn)?;
    }
    if reviews.is_empty() {
        finalize(conn, now, attempt.id, &RequestCtx::system("grading"), None)?;
    }
    Ok(true)
}

/// Computes the final result once every answer is graded: score, pass/fail,
/// per-section feedback, the qualification on a pass, and the result email.
fn finalize(
    conn: &mut DbConn,
    now: NaiveDateTime,
    attempt_id: i64,
    ctx: &RequestCtx,
    actor_id: Option<i64>,
) -> AppResult<()> {
    let attempt = attempt_row(conn, attempt_id)?;
    let test = test_row(conn, attempt.test_id)?;
    let version = version_row(conn, attempt.test_version_id)?;
    let sections = version.sections()?;
    let mut awarded = attempt.objective_scores()?;
    let reviewed: Vec<(String, Option<i64>)> = test_answer_reviews::table
        .filter(test_answer_reviews::attempt_id.eq(attempt_id))
        .select((test_answer_reviews::question_id, test_answer_reviews::points_awarded))
        .load(conn)?;
    awarded.extend(reviewed.into_iter().map(|(q, p)| (q, p.unwrap_or(0))));
    let (got, max, feedback) = grading::tally(&sections, &attempt.question_ids()?, &awarded);
    let passed = grading::passes(got, max, version.pass_mark_percent);
    let score = grading::percent(got, max);
    let status = if passed { AttemptStatus::Passed } else { AttemptStatus::Failed };
    diesel::update(test_attempts::table.find(attempt_id))
        .set((
            test_attempts::status.eq(status),
            test_attempts::graded_at.eq(now),
            test_attempts::points_awarded.eq(got),
            test_attempts::points_possible.eq(max),
            test_attempts::score_percent.eq(score),
            test_attempts::passed.eq(passed),
            test_attempts::feedback.eq(to_json(&feedback)?),
        ))
        .execute(conn)?;
    let qualification = format!("{} {}", test.domain, test.tier);
    if passed {
        let source = format!("test:{}:attempt:{}", test.id, attempt_id);
        grant_qualification(
            conn,
            now,
            ctx,
            actor_id,
            Grant {
                user_id: attempt.user_id,
                domain: &test.domain,
                tier: test.tier,
                source: &source,
                expires_at: version.qualification_valid_days.map(|d| now + Duration::days(i64::from(d))),
            },
        )?;
    }
    let user = crate::auth::service::find_user(conn, attempt.user_id)?;
    notifications::enqueue(
        conn,
        now,
        &user.email,
        &format!("test_result:attempt:{attempt_id}"),
        &templates::TestResult {
            full_name: user.full_name,
            test_title: test.title,
            passed,
            score_percent: score,
            pass_mark_percent: version.pass_mark_percent,
            sections: feedback
                .iter()
                .map(|f| templates::SectionLine { title: f.title.clone(), score_percent: f.score_percent })
                .collect(),
            qualification,
        },
    )?;
    Ok(())
}

/// Closes in-progress attempts whose deadline plus grace has passed, optionally of one
/// person only, grading what was saved by the deadline.
fn close_expired_in(conn: &mut DbConn, st: &AppState, now: NaiveDateTime, user_id: Option<i64>) -> AppResult<usize> {
    let mut query = test_attempts::table
        .filter(test_attempts::status.eq(AttemptStatus::InProgress.as_str()))
        .filter(test_attempts::deadline_at.lt(now - grace(st)))
        .select(AttemptRow::as_select())
        .into_boxed();
    if let Some(user) = user_id {
        query = query.filter(test_attempts::user_id.eq(user));
    }
    let expired: Vec<AttemptRow> = query.order(test_attempts::id.asc()).limit(500).load(conn)?;
    let mut closed = 0;
    for attempt in &expired {
        if close_attempt(conn, now, attempt, attempt.deadline_at)? {
            closed += 1;
        }
    }
    Ok(closed)
}

/// The job: closes and grades every attempt left open past its deadline plus grace.
/// Each attempt is closed in its own transaction. Also called lazily when an applicant
/// reads their tests or attempts, so what they see is never stale.
pub fn close_expired_attempts(st: &AppState) -> AppResult<usize> {
    let now = st.clock.now();
    let ids: Vec<i64> = st.db.read_sync(|conn| {
        Ok(test_attempts::table
            .filter(test_attempts::status.eq(AttemptStatus::InProgress.as_str()))
            .filter(test_attempts::deadline_at.lt(now - grace(st)))
            .select(test_attempts::id)
            .load(conn)?)
    })?;
    let mut closed = 0;
    for id in ids {
        closed += st.db.tx_sync(|conn| {
            let attempt = attempt_row(conn, id)?;
            if attempt.status() != AttemptStatus::InProgress {
                return Ok(0);
            }
            Ok(usize::from(close_attempt(conn, st.clock.now(), &attempt, attempt.deadline_at)?))
        })?;
    }
    Ok(closed)
}

/// A free-text answer in the reviewer queue, with what the reviewer needs to grade it.
pub struct QueueItem {
    pub review: ReviewRow,
    pub attempt: AttemptRow,
    pub test: TestRow,
    pub question: Option<Question>,
}

/// An answer of the grading queue with its attempt, test and question.
pub fn queue_item(conn: &mut DbConn, review: ReviewRow) -> AppResult<QueueItem> {
    let attempt = attempt_row(conn, review.attempt_id)?;
    let test = test_row(conn, attempt.test_id)?;
    let version = version_row(conn, attempt.test_version_id)?;
    let question = questions_by_id(&version)?.remove(&review.question_id);
    Ok(QueueItem { review, attempt, test, question })
}

/// Answers awaiting a grade, oldest first (keyset on the id, which grows with time).
pub fn review_queue(st: &AppState, after: Option<i64>, limit: Option<i64>) -> AppResult<Vec<QueueItem>> {
    st.db.read_sync(|conn| {
        let rows: Vec<ReviewRow> = test_answer_reviews::table
            .filter(test_answer_reviews::status.eq(ReviewStatus::Pending.as_str()))
            .filter(test_answer_reviews::id.gt(after.unwrap_or(0)))
            .order(test_answer_reviews::id.asc())
            .limit(crate::db::page_limit(limit))
            .select(ReviewRow::as_select())
            .load(conn)?;
        rows.into_iter().map(|r| queue_item(conn, r)).collect()
    })
}

/// One answer of the grading queue, with its attempt, test and question.
pub fn review_item(conn: &mut DbConn, id: i64) -> AppResult<QueueItem> {
    let review = review_row(conn, id)?;
    queue_item(conn, review)
}

fn review_row(conn: &mut DbConn, id: i64) -> AppResult<ReviewRow> {
    Ok(test_answer_reviews::table.find(id).select(ReviewRow::as_select()).first(conn)?)
}

fn not_own(attempt: &AttemptRow, reviewer_id: i64) -> AppResult<()> {
    if attempt.user_id == reviewer_id {
        return Err(AppError::Forbidden("nobody grades their own test answers".into()));
    }
    Ok(())
}

/// Claims an answer for grading ([`review::claim`] on [`super::queue::TestAnswers`]).
pub fn claim(st: &AppState, ctx: &RequestCtx, reviewer_id: i64, id: i64) -> AppResult<QueueItem> {
    review::claim(st, ctx, &super::queue::TestAnswers, reviewer_id, id)?;
    st.db.read_sync(|conn| review_item(conn, id))
}

/// The claimant grades an answer; the last grade of an attempt finalises its result.
pub fn decide(
    st: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    id: i64,
    points: f64,
    note: &str,
) -> AppResult<(ReviewRow, AttemptRow)> {
    let note = &review::note(note, true)?;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let review = review_row(conn, id)?;
        let attempt = attempt_row(conn, review.attempt_id)?;
        not_own(&attempt, reviewer_id)?;
        if review.status != ReviewStatus::Pending {
            return Err(AppError::conflict(ProblemCode::AlreadyGraded, "this answer is already graded"));
        }
        let milli = (points * MILLI as f64).round() as i64;
        if !points.is_finite() || milli < 0 || milli > review.max_points {
            return Err(AppError::field(
                "points_awarded",
                "range",
                format!("award 0 to {} points", review.max_points as f64 / MILLI as f64),
            ));
        }
        let graded = diesel::update(
            test_answer_reviews::table
                .filter(test_answer_reviews::id.eq(id))
                .filter(test_answer_reviews::status.eq(ReviewStatus::Pending.as_str()))
                .filter(test_answer_reviews::claimed_by.eq(reviewer_id))
                .filter(test_answer_reviews::claim_expires_at.ge(now)),
        )
        .set((
            test_answer_reviews::status.eq(ReviewStatus::Graded.as_str()),
            test_answer_reviews::points_awarded.eq(milli),
            test_answer_reviews::note.eq(note),
            test_answer_reviews::graded_by.eq(reviewer_id),
            test_answer_reviews::graded_at.eq(now),
        ))
        .execute(conn)?;
        if graded != 1 {
            return Err(crate::review::claim_required());
        }
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(reviewer_id),
                action: AuditAction::TestAnswerGraded,
                subject_type: AuditSubject::TestAnswer,
                subject_id: Some(id.to_string()),
                summary: json!({"after": {"attempt_id": attempt.id, "question_id": review.question_id,
                    "points_awarded": milli as f64 / MILLI as f64, "note": note}}),
            },
        )?;
        let pending: i64 = test_answer_reviews::table
            .filter(test_answer_reviews::attempt_id.eq(attempt.id))
            .filter(test_answer_reviews::status.eq(ReviewStatus::Pending.as_str()))
            .count()
            .get_result(conn)?;
        if pending == 0 {
            finalize(conn, now, attempt.id, ctx, Some(reviewer_id))?;
        }
        Ok((review_row(conn, id)?, attempt_row(conn, attempt.id)?))
    })
}

/// A project type and whether the person holds every qualification it requires.
pub struct ProjectAccess {
    pub project: ProjectTypeRow,
    pub missing: Vec<RequiredQualification>,
}

/// The person's qualifications (newest first, keyset on the id) and the project types
/// they can or cannot work on.
pub fn my_qualifications(
    st: &AppState,
    user_id: i64,
    before: Option<i64>,
    limit: Option<i64>,
) -> AppResult<(Vec<QualificationRow>, Vec<ProjectAccess>)> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        close_expired_in(conn, st, now, Some(user_id))?;
        let mut query = qualifications::table
            .filter(qualifications::user_id.eq(user_id))
            .select(QualificationRow::as_select())
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(qualifications::id.lt(before));
        }
        let held = query.order(qualifications::id.desc()).limit(crate::db::page_limit(limit)).load(conn)?;
        let projects: Vec<ProjectTypeRow> = project_types::table
            .order(project_types::id.asc())
            .limit(crate::db::page_limit(None))
            .select(ProjectTypeRow::as_select())
            .load(conn)?;
        let mut access = Vec::with_capacity(projects.len());
        for project in projects {
            let mut missing = Vec::new();
            for req in project.required()? {
                if !holds_qualification(conn, now, user_id, &req.domain, req.tier)? {
                    missing.push(req);
                }
            }
            access.push(ProjectAccess { project, missing });
        }
        Ok((held, access))
    })
}

/// An admin defines a project type and the qualifications it requires.
pub fn create_project_type(
    st: &AppState,
    ctx: &RequestCtx,
    admin_id: i64,
    name: &str,
    required: Vec<RequiredQualification>,
    quality: ProjectQuality,
) -> AppResult<ProjectTypeRow> {
    if required.iter().any(|r| r.domain.trim().is_empty()) {
        return Err(AppError::field("required_qualifications", "required", "every requirement names a domain"));
    }
    let standing_domain = match quality.standing_domain.as_deref().map(str::trim) {
        Some("") => return Err(AppError::field("standing_domain", "required", "name a domain, or leave it out")),
        Some(d) if d.chars().count() > 100 => {
            return Err(AppError::field("standing_domain", "length", "at most 100 characters"))
        }
        Some(d) => Some(d.to_string()),
        None => required.first().map(|r| r.domain.trim().to_string()),
    };
    let required_standing = quality.required_standing.unwrap_or(crate::quality::rules::StandingTier::Standard);
    if standing_domain.is_none() && required_standing != crate::quality::rules::StandingTier::Standard {
        return Err(AppError::field(
            "standing_domain",
            "required",
            "a project type that needs a standing tier names the domain of that standing",
        ));
    }
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let name = name.trim();
        let taken: i64 = project_types::table.filter(project_types::name.eq(name)).count().get_result(conn)?;
        if taken > 0 {
            return Err(AppError::conflict(ProblemCode::NameTaken, "a project type with this name exists"));
        }
        let id = diesel::insert_into(project_types::table)
            .values(NewProjectTypeRow {
                name,
                required_qualifications: &to_json(&required)?,
                created_by: admin_id,
                created_at: now,
                standing_domain: standing_domain.as_deref(),
                required_standing,
                reports_consensus: quality.reports_consensus,
                reports_gold: quality.reports_gold,
            })
            .returning(project_types::id)
            .get_result::<i64>(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::ProjectTypeCreated,
                subject_type: AuditSubject::ProjectType,
                subject_id: Some(id.to_string()),
                summary: json!({"after": {"name": name, "required_qualifications": required,
                    "standing_domain": standing_domain, "required_standing": required_standing.as_str(),
                    "reports_consensus": quality.reports_consensus, "reports_gold": quality.reports_gold}}),
            },
        )?;
        Ok(project_types::table.find(id).select(ProjectTypeRow::as_select()).first(conn)?)
    })
}

/// An admin revokes a qualification, with a reason the person can read.
pub fn revoke_qualification(
    st: &AppState,
    ctx: &RequestCtx,
    admin_id: i64,
    id: i64,
    reason: &str,
) -> AppResult<QualificationRow> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let q: QualificationRow = qualifications::table.find(id).select(QualificationRow::as_select()).first(conn)?;
        if q.revoked_at.is_some() {
            return Err(AppError::conflict(ProblemCode::AlreadyRevoked, "this qualification is already revoked"));
        }
        diesel::update(qualifications::table.find(id))
            .set((qualifications::revoked_at.eq(now), qualifications::revoke_reason.eq(reason.trim())))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::QualificationRevoked,
                subject_type: AuditSubject::User,
                subject_id: Some(q.user_id.to_string()),
                summary: json!({"before": {"qualification_id": id, "revoked": false},
                    "after": {"revoked": true, "reason": reason.trim()}}),
            },
        )?;
        Ok(qualifications::table.find(id).select(QualificationRow::as_select()).first(conn)?)
    })
}

/// Every test, newest first (the admin console's list).
pub fn all_tests(conn: &mut DbConn) -> AppResult<Vec<TestRow>> {
    Ok(qualification_tests::table.order(qualification_tests::id.desc()).select(TestRow::as_select()).load(conn)?)
}

/// Every project type, by name (the admin console's list).
pub fn all_project_types(conn: &mut DbConn) -> AppResult<Vec<ProjectTypeRow>> {
    Ok(project_types::table.order(project_types::name.asc()).select(ProjectTypeRow::as_select()).load(conn)?)
}
