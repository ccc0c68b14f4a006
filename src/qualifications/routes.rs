//! HTTP handlers for qualification tests. Applicant-facing DTOs are built from the
//! question text and option labels only: answer keys, tolerances and rubrics have no
//! field to travel in.

use crate::db::page::PageQuery;
use actix_web::{get, post, put, web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::*;
use super::service::{self, AttemptDetail, Blocker, QueueItem, TestDefinition};
use crate::auth::{Admin, Applicant, Reviewer, Staff, Worker};
use crate::error::{AppResult, Problem};
use crate::quality::rules::StandingTier;
use crate::{blocking, AppState};

/// A test as its authors see it, answer keys included (admins only).
#[derive(Serialize, ToSchema)]
pub struct AdminTestView {
    pub id: i64,
    pub domain: String,
    pub tier: Tier,
    pub title: String,
    pub status: TestStatus,
    pub version: i32,
    pub time_limit_minutes: i32,
    pub pass_mark_percent: i32,
    pub attempt_limit: i32,
    pub cooldown_hours: i32,
    pub stipend_cents: Option<i64>,
    pub qualification_valid_days: Option<i32>,
    pub prerequisites: Vec<Prerequisite>,
    pub sections: Vec<Section>,
}

impl AdminTestView {
    fn new((test, v): (TestRow, VersionRow)) -> AppResult<Self> {
        Ok(Self {
            id: test.id,
            tier: test.tier,
            status: test.status,
            domain: test.domain,
            title: test.title,
            version: v.version,
            time_limit_minutes: v.time_limit_minutes,
            pass_mark_percent: v.pass_mark_percent,
            attempt_limit: v.attempt_limit,
            cooldown_hours: v.cooldown_hours,
            stipend_cents: v.stipend_cents,
            qualification_valid_days: v.qualification_valid_days,
            prerequisites: v.prerequisites()?,
            sections: v.sections()?,
        })
    }
}

/// Create a qualification test (version 1).
#[utoipa::path(
    tag = "qualifications",
    request_body = TestDefinition,
    responses(
        (status = 201, body = AdminTestView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/admin/tests")]
pub async fn create_test(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    body: web::Json<TestDefinition>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let created = blocking(move || service::create_test(&state, &admin.ctx, admin.id, body.into_inner())).await?;
    Ok(HttpResponse::Created().json(AdminTestView::new(created)?))
}

/// Edit a test: creates a new version. Attempts already started keep their version.
#[utoipa::path(
    tag = "qualifications",
    params(("id" = i64, Path, description = "test id")),
    request_body = TestDefinition,
    responses(
        (status = 200, body = AdminTestView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "test_retired"),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[put("/admin/tests/{id}")]
pub async fn update_test(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    path: web::Path<i64>,
    body: web::Json<TestDefinition>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = path.into_inner();
    let updated = blocking(move || service::update_test(&state, &admin.ctx, admin.id, id, body.into_inner())).await?;
    Ok(HttpResponse::Ok().json(AdminTestView::new(updated)?))
}

/// Retire a test: no new attempts; attempts in progress may finish.
#[utoipa::path(
    tag = "qualifications",
    params(("id" = i64, Path, description = "test id")),
    responses(
        (status = 200, body = AdminTestView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "test_retired")
    ),
    security(("bearer" = []))
)]
#[post("/admin/tests/{id}/retire")]
pub async fn retire_test(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let retired = blocking(move || service::retire_test(&state, &admin.ctx, admin.id, id)).await?;
    Ok(HttpResponse::Ok().json(AdminTestView::new(retired)?))
}

/// A test as an applicant sees it: the rules, never the questions' keys.
#[derive(Serialize, ToSchema)]
pub struct TestListItem {
    pub id: i64,
    pub version: i32,
    pub title: String,
    pub domain: String,
    pub tier: Tier,
    pub time_limit_minutes: i32,
    pub pass_mark_percent: i32,
    pub attempt_limit: i32,
    pub attempts_used: i64,
    pub cooldown_hours: i32,
    pub question_count: usize,
    pub stipend_cents: Option<i64>,
    pub prerequisites: Vec<Prerequisite>,
    /// True when an attempt can be started now.
    pub available: bool,
    /// Why not, when `available` is false.
    pub blocked_by: Vec<Blocker>,
}

crate::db::page::page_of!(TestPage, TestListItem);

/// The tests there are, and for each whether the signed-in applicant may start it now.
#[utoipa::path(
    tag = "qualifications",
    params(PageQuery),
    responses((status = 200, body = TestPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/tests")]
pub async fn list_tests(
    state: web::Data<AppState>,
    user: Applicant,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let rows = blocking(move || service::list_for_applicant(&state, user.id, after, limit)).await?;
    let next_cursor = crate::db::next_cursor(&rows, limit, |r| r.test.id);
    let items = rows
        .into_iter()
        .map(|r| {
            let sections = r.version.sections()?;
            Ok(TestListItem {
                id: r.test.id,
                version: r.version.version,
                tier: r.test.tier,
                title: r.test.title,
                domain: r.test.domain,
                time_limit_minutes: r.version.time_limit_minutes,
                pass_mark_percent: r.version.pass_mark_percent,
                attempt_limit: r.version.attempt_limit,
                attempts_used: r.attempts_used,
                cooldown_hours: r.version.cooldown_hours,
                question_count: sections.iter().map(|s| s.draw.unwrap_or(s.questions.len())).sum(),
                stipend_cents: r.version.stipend_cents,
                prerequisites: r.version.prerequisites()?,
                available: r.blockers.is_empty(),
                blocked_by: r.blockers,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(TestPage { items, has_more: next_cursor.is_some(), next_cursor }))
}

/// A question as shown to the person taking the test.
#[derive(Serialize, ToSchema)]
pub struct ApplicantQuestion {
    pub id: String,
    pub section: String,
    pub prompt: String,
    pub points: i64,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    /// The options of choice questions (labels only).
    pub options: Option<Vec<Choice>>,
}

/// A question's type as the applicant sees it, without how it is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    SingleChoice,
    MultipleChoice,
    Numeric,
    FreeText,
}

fn applicant_question(section: &str, q: Question) -> ApplicantQuestion {
    let (kind, options) = match q.kind {
        QuestionKind::SingleChoice { options, .. } => (QuestionType::SingleChoice, Some(options)),
        QuestionKind::MultipleChoice { options, .. } => (QuestionType::MultipleChoice, Some(options)),
        QuestionKind::Numeric { .. } => (QuestionType::Numeric, None),
        QuestionKind::FreeText { .. } => (QuestionType::FreeText, None),
    };
    ApplicantQuestion { id: q.id, section: section.to_string(), prompt: q.prompt, points: q.points, kind, options }
}

/// The final result: a score and per-section feedback, never the correct answers.
#[derive(Serialize, ToSchema)]
pub struct AttemptResult {
    pub passed: bool,
    pub score_percent: i32,
    pub pass_mark_percent: i32,
    pub points_awarded: f64,
    pub points_possible: f64,
    pub sections: Vec<SectionFeedback>,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    pub id: i64,
    pub test_id: i64,
    pub test_title: String,
    pub test_version: i32,
    pub status: AttemptStatus,
    #[serde(with = "crate::clock::utc")]
    pub started_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc")]
    pub deadline_at: NaiveDateTime,
    /// Answers are accepted until this time (the deadline plus a short grace).
    #[serde(with = "crate::clock::utc")]
    pub answers_accepted_until: NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub submitted_at: Option<NaiveDateTime>,
    #[serde(with = "crate::clock::utc_opt")]
    pub graded_at: Option<NaiveDateTime>,
    pub questions: Vec<ApplicantQuestion>,
    /// The answers saved so far.
    #[schema(value_type = std::collections::HashMap<String, crate::qualifications::model::Answer>)]
    pub answers: Answers,
    /// Free-text answers still waiting for a reviewer.
    pub answers_awaiting_review: i64,
    pub result: Option<AttemptResult>,
    pub stipend_cents: Option<i64>,
}

impl AttemptView {
    fn new(d: AttemptDetail) -> AppResult<Self> {
        let a = d.attempt;
        let drawn: std::collections::BTreeSet<String> = a.question_ids()?.into_iter().collect();
        let questions = d
            .version
            .sections()?
            .into_iter()
            .flat_map(|s| {
                let title = s.title;
                s.questions
                    .into_iter()
                    .filter(|q| drawn.contains(&q.id))
                    .map(|q| applicant_question(&title, q))
                    .collect::<Vec<_>>()
            })
            .collect();
        let result = match (a.passed, a.score_percent, a.points_awarded, a.points_possible) {
            (Some(passed), Some(score), Some(got), Some(max)) => Some(AttemptResult {
                passed,
                score_percent: score,
                pass_mark_percent: d.version.pass_mark_percent,
                points_awarded: got as f64 / MILLI as f64,
                points_possible: max as f64 / MILLI as f64,
                sections: a.feedback()?,
            }),
            _ => None,
        };
        Ok(Self {
            id: a.id,
            test_id: a.test_id,
            test_title: d.test.title,
            test_version: d.version.version,
            status: a.status(),
            answers: a.answers()?,
            started_at: a.started_at,
            deadline_at: a.deadline_at,
            answers_accepted_until: d.accepts_until,
            submitted_at: a.submitted_at,
            graded_at: a.graded_at,
            questions,
            answers_awaiting_review: d.pending_reviews,
            result,
            stipend_cents: a.stipend_cents,
        })
    }
}

/// Start an attempt. One attempt may be in progress at a time, across all tests.
#[utoipa::path(
    tag = "qualifications",
    params(("id" = i64, Path, description = "test id")),
    responses(
        (status = 201, body = AttemptView),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "not an applicant, or account_cannot_work (suspended or read-only)"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "attempt_in_progress, cooldown, attempts_exhausted, \
            prerequisite_missing, already_qualified, result_pending or test_retired; `next_attempt_at` \
            gives the date of the next allowed attempt when a date decides it")
    ),
    security(("bearer" = []))
)]
#[post("/tests/{id}/attempts")]
pub async fn start_attempt(state: web::Data<AppState>, user: Worker, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let detail = blocking(move || service::start_attempt(&state, user.id, id)).await?;
    Ok(HttpResponse::Created().json(AttemptView::new(detail)?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveAnswers {
    /// Question id → answer: an option id (single choice) or text (free text), a list
    /// of option ids (multiple choice), or a number (numeric). Merged into what is saved.
    #[schema(schema_with = answers_schema)]
    pub answers: Answers,
}

/// `answers`: question id → [`Answer`](crate::qualifications::model::Answer).
fn answers_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder};
    use utoipa::openapi::{Ref, RefOr};
    ObjectBuilder::new()
        .description(Some(
            "Question id → answer: an option id (single choice) or text (free text), a list of option ids \
             (multiple choice), or a number (numeric). Merged into what is saved.",
        ))
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::Ref(Ref::from_schema_name("Answer")))))
        .build()
}

/// Save answers (autosave). Refused once the deadline plus grace has passed.
#[utoipa::path(
    tag = "qualifications",
    params(("id" = i64, Path, description = "attempt id")),
    request_body = SaveAnswers,
    responses(
        (status = 200, body = AttemptView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "deadline_passed or attempt_closed"),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[put("/attempts/{id}/answers")]
pub async fn save_answers(
    state: web::Data<AppState>,
    user: Worker,
    path: web::Path<i64>,
    body: web::Json<SaveAnswers>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let detail = blocking(move || service::save_answers(&state, user.id, id, body.into_inner().answers)).await?;
    Ok(HttpResponse::Ok().json(AttemptView::new(detail)?))
}

/// Submit an attempt: objective questions are scored at once; free text goes to review.
#[utoipa::path(
    tag = "qualifications",
    params(("id" = i64, Path, description = "attempt id")),
    responses(
        (status = 200, body = AttemptView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "deadline_passed or attempt_closed")
    ),
    security(("bearer" = []))
)]
#[post("/attempts/{id}/submit")]
pub async fn submit(state: web::Data<AppState>, user: Worker, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let detail = blocking(move || service::submit(&state, user.id, id)).await?;
    Ok(HttpResponse::Ok().json(AttemptView::new(detail)?))
}

/// One of the signed-in applicant's attempts (anyone else's is "not found").
#[utoipa::path(
    tag = "qualifications",
    params(("id" = i64, Path, description = "attempt id")),
    responses(
        (status = 200, body = AttemptView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/attempts/{id}")]
pub async fn get_attempt(state: web::Data<AppState>, user: Applicant, path: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let detail = blocking(move || service::get_attempt(&state, user.id, id)).await?;
    Ok(HttpResponse::Ok().json(AttemptView::new(detail)?))
}

/// A free-text answer to grade, with the rubric (reviewers only).
#[derive(Serialize, ToSchema)]
pub struct ReviewItemView {
    pub id: i64,
    pub attempt_id: i64,
    pub test_id: i64,
    pub test_title: String,
    pub domain: String,
    pub tier: Tier,
    pub question_id: String,
    pub prompt: Option<String>,
    pub rubric: Option<String>,
    pub answer_text: String,
    pub max_points: f64,
    #[serde(with = "crate::clock::utc")]
    pub queued_at: NaiveDateTime,
    /// Seconds since the answer entered the queue.
    pub age_seconds: i64,
    pub claimed_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub claim_expires_at: Option<NaiveDateTime>,
}

impl ReviewItemView {
    fn new(item: QueueItem, now: NaiveDateTime) -> Self {
        let (prompt, rubric) = match item.question {
            Some(Question { prompt, kind: QuestionKind::FreeText { rubric }, .. }) => (Some(prompt), Some(rubric)),
            Some(q) => (Some(q.prompt), None),
            None => (None, None),
        };
        let r = item.review;
        // An expired claim is no claim.
        let active = r.claim_expires_at.is_some_and(|t| t >= now);
        Self {
            id: r.id,
            attempt_id: r.attempt_id,
            test_id: item.test.id,
            test_title: item.test.title,
            tier: item.test.tier,
            domain: item.test.domain,
            question_id: r.question_id,
            prompt,
            rubric,
            answer_text: r.answer_text,
            max_points: r.max_points as f64 / MILLI as f64,
            queued_at: r.created_at,
            age_seconds: (now - r.created_at).num_seconds(),
            claimed_by: r.claimed_by.filter(|_| active),
            claim_expires_at: r.claim_expires_at.filter(|_| active),
        }
    }
}

crate::db::page::page_of!(ReviewPage, ReviewItemView);

/// Free-text answers waiting for a grade, oldest first.
#[utoipa::path(
    operation_id = "test_answer_queue",
    tag = "review",
    params(PageQuery),
    responses((status = 200, body = ReviewPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/review/test-answers")]
pub async fn review_queue(
    state: web::Data<AppState>,
    _reviewer: Staff<Reviewer>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let st = state.clone();
    let rows = blocking(move || service::review_queue(&st, after, limit)).await?;
    let next_cursor = crate::db::next_cursor(&rows, limit, |r| r.review.id);
    let now = state.clock.now();
    let items = rows.into_iter().map(|r| ReviewItemView::new(r, now)).collect();
    Ok(HttpResponse::Ok().json(ReviewPage { items, has_more: next_cursor.is_some(), next_cursor }))
}

/// Claim an answer for grading; the claim expires after a configured time.
#[utoipa::path(
    operation_id = "claim_test_answer",
    tag = "review",
    params(("id" = i64, Path, description = "answer id")),
    responses(
        (status = 200, body = ReviewItemView),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "own attempt"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "claimed_by_other or already_graded")
    ),
    security(("bearer" = []))
)]
#[post("/review/test-answers/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let st = state.clone();
    let item = blocking(move || service::claim(&st, &reviewer.ctx, reviewer.id, id)).await?;
    Ok(HttpResponse::Ok().json(ReviewItemView::new(item, state.clock.now())))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeRequest {
    /// Points awarded per the rubric, 0 to the question's points (thousandths allowed).
    #[schema(minimum = 0, maximum = 100)]
    pub points_awarded: f64,
    /// Explains the grade: 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionView {
    pub id: i64,
    pub attempt_id: i64,
    pub points_awarded: f64,
    pub note: Option<String>,
    #[serde(with = "crate::clock::utc_opt")]
    pub graded_at: Option<NaiveDateTime>,
    /// The attempt's status after this grade (`passed`/`failed` once every answer is graded).
    pub attempt_status: AttemptStatus,
}

/// Grade a claimed answer. Only the claimant may; nobody grades their own attempt.
#[utoipa::path(
    operation_id = "grade_test_answer",
    tag = "review",
    params(("id" = i64, Path, description = "answer id")),
    request_body = GradeRequest,
    responses(
        (status = 200, body = DecisionView),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "own attempt"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "claim_required or already_graded"),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/test-answers/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    path: web::Path<i64>,
    body: web::Json<GradeRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = path.into_inner();
    let (review, attempt) = blocking(move || {
        service::decide(&state, &reviewer.ctx, reviewer.id, id, body.points_awarded, body.note.trim())
    })
    .await?;
    Ok(HttpResponse::Ok().json(DecisionView {
        id: review.id,
        attempt_id: attempt.id,
        points_awarded: review.points_awarded.unwrap_or(0) as f64 / MILLI as f64,
        note: review.note,
        graded_at: review.graded_at,
        attempt_status: attempt.status(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct QualificationView {
    pub id: i64,
    pub domain: String,
    pub tier: Tier,
    /// Where it came from, e.g. `test:3:attempt:17`.
    pub source: String,
    #[serde(with = "crate::clock::utc")]
    pub granted_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub expires_at: Option<NaiveDateTime>,
    #[serde(with = "crate::clock::utc_opt")]
    pub revoked_at: Option<NaiveDateTime>,
    pub revoke_reason: Option<String>,
    /// Neither expired nor revoked.
    pub active: bool,
}

impl QualificationView {
    fn new(q: QualificationRow, now: NaiveDateTime) -> Self {
        Self {
            id: q.id,
            active: q.is_active(now),
            tier: q.tier,
            domain: q.domain,
            source: q.source,
            granted_at: q.granted_at,
            expires_at: q.expires_at,
            revoked_at: q.revoked_at,
            revoke_reason: q.revoke_reason,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProjectTypeView {
    pub id: i64,
    pub name: String,
    pub required_qualifications: Vec<RequiredQualification>,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
    /// The domain whose standing gates this project type; null: not gated.
    pub standing_domain: Option<String>,
    /// The standing tier needed in that domain (docs/quality.md).
    pub required_standing: StandingTier,
    /// Work records may carry `consensus_agreement_percent`.
    pub reports_consensus: bool,
    /// Work records may carry `gold_score_percent`.
    pub reports_gold: bool,
}

impl ProjectTypeView {
    fn new(p: ProjectTypeRow) -> AppResult<Self> {
        Ok(Self {
            id: p.id,
            required_qualifications: p.required()?,
            required_standing: p.required_standing,
            name: p.name,
            created_at: p.created_at,
            standing_domain: p.standing_domain,
            reports_consensus: p.reports_consensus,
            reports_gold: p.reports_gold,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProjectAccessView {
    #[serde(flatten)]
    pub project: ProjectTypeView,
    /// True when every required qualification is held.
    pub eligible: bool,
    pub missing: Vec<RequiredQualification>,
}

#[derive(Serialize, ToSchema)]
pub struct MyQualifications {
    pub items: Vec<QualificationView>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Send it back as `cursor` for the next page; null on the last one.
    #[serde(serialize_with = "crate::db::page::next")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<i64>,
    /// Project types and whether the signed-in person may work on each.
    pub project_types: Vec<ProjectAccessView>,
}

/// The signed-in person's qualifications and the project types they give access to.
#[utoipa::path(
    tag = "me",
    params(PageQuery),
    responses((status = 200, body = MyQualifications), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/qualifications")]
pub async fn my_qualifications(
    state: web::Data<AppState>,
    user: Applicant,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: before, limit } = query.into_inner();
    let st = state.clone();
    let (held, projects) = blocking(move || service::my_qualifications(&st, user.id, before, limit)).await?;
    let now = state.clock.now();
    let next_cursor = crate::db::next_cursor(&held, limit, |q| q.id);
    Ok(HttpResponse::Ok().json(MyQualifications {
        items: held.into_iter().map(|q| QualificationView::new(q, now)).collect(),
        has_more: next_cursor.is_some(),
        next_cursor,
        project_types: projects
            .into_iter()
            .map(|p| {
                Ok(ProjectAccessView {
                    eligible: p.missing.is_empty(),
                    missing: p.missing,
                    project: ProjectTypeView::new(p.project)?,
                })
            })
            .collect::<AppResult<_>>()?,
    }))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectType {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Every listed qualification is needed (an expert one satisfies generalist).
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    pub required_qualifications: Vec<RequiredQualification>,
    /// The domain whose standing gates this project type (docs/quality.md). Defaults to
    /// the domain of the first required qualification; without either, standing does not
    /// gate the project type.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub standing_domain: Option<String>,
    /// `entry` (open at any standing), `standard` (the default) or `advanced`.
    #[serde(default)]
    pub required_standing: Option<StandingTier>,
    /// The task platform reports agreement with the consensus on this project type's
    /// items; otherwise ingest refuses the signal.
    #[serde(default)]
    pub reports_consensus: bool,
    /// The task platform reports gold-item scores on this project type's items.
    #[serde(default)]
    pub reports_gold: bool,
}

/// Define a project type and the qualifications it requires (admins).
#[utoipa::path(
    tag = "admin",
    request_body = CreateProjectType,
    responses(
        (status = 201, body = ProjectTypeView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "name_taken"), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/admin/projects")]
pub async fn create_project_type(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    body: web::Json<CreateProjectType>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let row = blocking(move || {
        let quality = ProjectQuality {
            standing_domain: b.standing_domain,
            required_standing: b.required_standing,
            reports_consensus: b.reports_consensus,
            reports_gold: b.reports_gold,
        };
        service::create_project_type(&state, &admin.ctx, admin.id, &b.name, b.required_qualifications, quality)
    })
    .await?;
    Ok(HttpResponse::Created().json(ProjectTypeView::new(row)?))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    #[validate(length(min = 1, max = 2000, message = "give the reason the person will read"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Revoke a qualification with a reason (admins).
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "qualification id")),
    request_body = RevokeRequest,
    responses(
        (status = 200, body = QualificationView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "already_revoked"),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/admin/qualifications/{id}/revoke")]
pub async fn revoke_qualification(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    path: web::Path<i64>,
    body: web::Json<RevokeRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = path.into_inner();
    let st = state.clone();
    let q = blocking(move || service::revoke_qualification(&st, &admin.ctx, admin.id, id, &body.reason)).await?;
    Ok(HttpResponse::Ok().json(QualificationView::new(q, state.clock.now())))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_test)
        .service(update_test)
        .service(retire_test)
        .service(list_tests)
        .service(start_attempt)
        .service(save_answers)
        .service(submit)
        .service(get_attempt)
        .service(review_queue)
        .service(claim)
        .service(decide)
        .service(my_qualifications)
        .service(create_project_type)
        .service(revoke_qualification);
}
