//! Reviewer pages: the dashboard of queues, each queue, and an item beside its document
//! and decision form. Every action calls the same service function as the REST API.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::guard::{Console, ConsoleError, PageResult};
use super::layout::{age, dollars, render, see_other, when, when_opt, Layout};
use super::session::ConsoleUser;
use crate::auth::roles::{AnyStaff, Reviewer};
use crate::credentials::model::{CredentialKind, CredentialOutcome};
use crate::db::DbConn;
use crate::decisions::model::Decision;
use crate::error::{AppError, AppResult};
use crate::onboarding::model::ReviewOutcome;
use crate::quality::model::MoveStatus;
use crate::work::service::{AppealVerdict, Verdict};
use crate::AppState;

/// The review queues, by the path segment the API uses too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    WorkAuthorizations,
    Credentials,
    TestAnswers,
    WorkRecords,
    Appeals,
    /// Standing moves to confirm (human confirmation on) and appeals of moves.
    StandingMoves,
}

impl Queue {
    pub const ALL: [Queue; 6] = [
        Self::WorkAuthorizations,
        Self::Credentials,
        Self::TestAnswers,
        Self::WorkRecords,
        Self::Appeals,
        Self::StandingMoves,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.slug() == s)
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::WorkAuthorizations => "work-authorizations",
            Self::Credentials => "credentials",
            Self::TestAnswers => "test-answers",
            Self::WorkRecords => "work-records",
            Self::Appeals => "appeals",
            Self::StandingMoves => "standing-moves",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::WorkAuthorizations => "Work authorizations",
            Self::Credentials => "Credentials",
            Self::TestAnswers => "Test answers",
            Self::WorkRecords => "Work records",
            Self::Appeals => "Appeals",
            Self::StandingMoves => "Standing moves",
        }
    }
}

fn queue_of(s: &str) -> Result<Queue, ConsoleError> {
    Queue::parse(s).ok_or(ConsoleError::App(AppError::NotFound))
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

// ---------------------------------------------------------------- dashboard

struct QueueLine {
    slug: &'static str,
    title: &'static str,
    size: i64,
    oldest: String,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    queues: Vec<QueueLine>,
}

pub async fn dashboard(st: web::Data<AppState>, user: Console<AnyStaff>, q: web::Query<NoticeQuery>) -> PageResult {
    let state = st.clone();
    let stats = crate::blocking(move || state.db.read_sync(crate::review::stats)).await?;
    let now = st.clock.now();
    let queues = stats
        .into_iter()
        .map(|s| QueueLine {
            slug: s.queue,
            title: Queue::parse(s.queue).map(Queue::title).unwrap_or(s.queue),
            size: s.size,
            oldest: s.oldest.map(|t| age(now, t)).unwrap_or_else(|| "—".into()),
        })
        .collect();
    render(&DashboardPage { layout: Layout::new(&user, "dashboard", q.notice.as_deref()), queues })
}

// ---------------------------------------------------------------- a queue

/// One waiting item, as a queue lists it.
struct Entry {
    id: i64,
    person: String,
    summary: String,
    since: String,
    age: String,
    claim: String,
    mine: bool,
    unclaimed: bool,
    flagged: bool,
}

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    /// `all` (default), `unclaimed` or `mine`.
    show: Option<String>,
    /// Credentials only: `degree`, `transcript`, `license`, `certification`.
    kind: Option<String>,
    /// Credentials only: `true` for items flagged as possible fraud.
    flagged: Option<String>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    layout: Layout,
    queue: Queue,
    entries: Vec<Entry>,
    show: String,
    /// The credential kinds of the filter, and whether each is selected.
    kinds: Vec<(&'static str, bool)>,
    flagged: bool,
}

/// Who holds an item: "you", "reviewer #7 until …", or "unclaimed" (also when lapsed).
fn claim_text(
    now: chrono::NaiveDateTime,
    me: i64,
    by: Option<i64>,
    until: Option<chrono::NaiveDateTime>,
) -> (String, bool, bool) {
    match (by, until) {
        (Some(by), Some(until)) if until > now => {
            let who = if by == me { "you".to_string() } else { format!("reviewer #{by}") };
            (format!("{who} until {}", when(&until)), by == me, false)
        }
        _ => ("unclaimed".into(), false, true),
    }
}

struct Raw {
    id: i64,
    person_id: i64,
    summary: String,
    since: chrono::NaiveDateTime,
    claimed_by: Option<i64>,
    claim_expires_at: Option<chrono::NaiveDateTime>,
    flagged: bool,
}

fn load_queue(st: &AppState, queue: Queue, q: &QueueQuery) -> AppResult<Vec<Raw>> {
    const PAGE: Option<i64> = Some(200);
    let now = st.clock.now();
    Ok(match queue {
        Queue::WorkAuthorizations => st
            .db
            .read_sync(|c| crate::onboarding::service::queue(c, PAGE, None))?
            .into_iter()
            .map(|r| Raw {
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
            })
            .collect(),
        Queue::Credentials => {
            let filter = crate::credentials::service::QueueFilter {
                kind: q.kind.as_deref().and_then(CredentialKind::parse),
                flagged: q.flagged.as_deref().map(|f| f == "true"),
                limit: PAGE,
                ..Default::default()
            };
            st.db
                .read_sync(|c| crate::credentials::service::queue(c, now, &filter))?
                .into_iter()
                .map(|(c, _)| Raw {
                    id: c.id,
                    person_id: c.user_id,
                    summary: format!("{} · {} · {}", c.kind, c.title, c.issuer),
                    since: c.submitted_at,
                    claimed_by: c.claimed_by,
                    claim_expires_at: c.claim_expires_at,
                    flagged: c.flagged,
                })
                .collect()
        }
        Queue::TestAnswers => crate::qualifications::service::review_queue(st, None, PAGE)?
            .into_iter()
            .map(|i| Raw {
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
            })
            .collect(),
        Queue::WorkRecords => crate::work::service::review_queue(st, None, PAGE)?
            .into_iter()
            .map(|r| Raw {
                id: r.id,
                person_id: r.contributor_id,
                summary: format!("task {} · {} {} · {}", r.task_ref, r.quantity, r.unit_kind, dollars(r.pay_cents)),
                since: r.ingested_at,
                claimed_by: r.claimed_by,
                claim_expires_at: r.claim_expires_at,
                flagged: false,
            })
            .collect(),
        Queue::Appeals => crate::work::service::appeal_queue(st, None, PAGE)?
            .into_iter()
            .map(|(a, r)| Raw {
                id: a.id,
                person_id: a.contributor_id,
                summary: format!(
                    "task {} · {} · rejected: {}",
                    r.task_ref,
                    dollars(r.pay_cents),
                    r.reason_code.unwrap_or_default()
                ),
                since: a.created_at,
                claimed_by: a.claimed_by,
                claim_expires_at: a.claim_expires_at,
                flagged: false,
            })
            .collect(),
        Queue::StandingMoves => crate::quality::service::review_queue(st, None, PAGE)?
            .into_iter()
            .map(|m| Raw {
                id: m.id,
                person_id: m.user_id,
                summary: format!(
                    "{} · {}: {} → {} · {}",
                    m.status,
                    m.domain,
                    m.from_tier,
                    m.to_tier,
                    m.reason_code.as_str().replace('_', " ")
                ),
                since: m.appealed_at.unwrap_or(m.proposed_at),
                claimed_by: m.claimed_by,
                claim_expires_at: m.claim_expires_at,
                flagged: false,
            })
            .collect(),
    })
}

fn names(st: &AppState, ids: Vec<i64>) -> AppResult<HashMap<i64, String>> {
    st.db.read_sync(|c| crate::auth::service::names_of(c, &ids))
}

pub async fn queue(
    st: web::Data<AppState>,
    user: Console<Reviewer>,
    path: web::Path<String>,
    q: web::Query<QueueQuery>,
) -> PageResult {
    let queue = queue_of(&path)?;
    let q = q.into_inner();
    let (state, me) = (st.clone(), user.id);
    let show = q.show.clone().unwrap_or_else(|| "all".into());
    let (raw, names, now) = {
        let q = QueueQuery { show: None, kind: q.kind.clone(), flagged: q.flagged.clone(), notice: None };
        crate::blocking(move || {
            let raw = load_queue(&state, queue, &q)?;
            let names = names(&state, raw.iter().map(|r| r.person_id).collect())?;
            Ok((raw, names, state.clock.now()))
        })
        .await?
    };
    let entries = raw
        .into_iter()
        .map(|r| {
            let (claim, mine, unclaimed) = claim_text(now, me, r.claimed_by, r.claim_expires_at);
            Entry {
                id: r.id,
                person: names.get(&r.person_id).cloned().unwrap_or_else(|| format!("user #{}", r.person_id)),
                summary: r.summary,
                since: when(&r.since),
                age: age(now, r.since),
                claim,
                mine,
                unclaimed,
                flagged: r.flagged,
            }
        })
        .filter(|e| match show.as_str() {
            "mine" => e.mine,
            "unclaimed" => e.unclaimed,
            _ => true,
        })
        .collect();
    render(&QueuePage {
        layout: Layout::new(&user, queue.slug(), q.notice.as_deref()),
        queue,
        entries,
        show,
        kinds: ["degree", "transcript", "license", "certification"]
            .into_iter()
            .map(|k| (k, q.kind.as_deref() == Some(k)))
            .collect(),
        flagged: q.flagged.as_deref() == Some("true"),
    })
}

// ---------------------------------------------------------------- one item

struct FileView {
    id: i64,
    label: String,
    image: bool,
}

/// One choice of the decision form: `value` is what the form posts.
struct Choice {
    value: String,
    label: String,
}

struct ChoiceGroup {
    label: &'static str,
    choices: Vec<Choice>,
}

/// What the decision form asks for.
enum DecisionForm {
    /// One select of outcome and reason code together (authorizations, credentials).
    Reasons(Vec<ChoiceGroup>),
    /// A verdict and a free reason code (work records, appeals).
    Verdicts(Vec<Choice>),
    /// Whole points up to a maximum (test answers).
    Points(i64),
}

struct HistoryLine {
    at: String,
    subject: String,
    outcome: String,
    reason: String,
    note: String,
    by: String,
}

#[derive(Template)]
#[template(path = "console/item.html")]
struct ItemPage {
    layout: Layout,
    queue: Queue,
    id: i64,
    person: String,
    person_id: i64,
    heading: String,
    facts: Vec<(String, String)>,
    files: Vec<FileView>,
    pending: bool,
    claim: String,
    mine: bool,
    form: DecisionForm,
    history: Vec<HistoryLine>,
}

struct Loaded {
    person_id: i64,
    heading: String,
    facts: Vec<(String, String)>,
    file_ids: Vec<(i64, String)>,
    pending: bool,
    claimed_by: Option<i64>,
    claim_expires_at: Option<chrono::NaiveDateTime>,
}

fn reason_groups(groups: &[(&'static str, &'static str, &'static [&'static str])]) -> DecisionForm {
    DecisionForm::Reasons(
        groups
            .iter()
            .map(|(outcome, label, codes)| ChoiceGroup {
                label,
                choices: codes
                    .iter()
                    .map(|code| Choice { value: format!("{outcome}:{code}"), label: code.replace('_', " ") })
                    .collect(),
            })
            .collect(),
    )
}

fn verdicts(pairs: &[(&str, &str)]) -> DecisionForm {
    DecisionForm::Verdicts(pairs.iter().map(|(v, l)| Choice { value: v.to_string(), label: l.to_string() }).collect())
}

fn decision_form(queue: Queue, loaded: &Loaded) -> DecisionForm {
    match queue {
        Queue::WorkAuthorizations => reason_groups(&[
            ("verify", "Verify", ReviewOutcome::Verify.reason_codes()),
            ("reject", "Reject", ReviewOutcome::Reject.reason_codes()),
            ("request_more_info", "Ask for more information", ReviewOutcome::RequestMoreInfo.reason_codes()),
        ]),
        Queue::Credentials => reason_groups(&[
            ("verify", "Verify", CredentialOutcome::Verify.reason_codes()),
            ("reject", "Reject", CredentialOutcome::Reject.reason_codes()),
            ("request_more_info", "Ask for more information", CredentialOutcome::RequestMoreInfo.reason_codes()),
        ]),
        Queue::TestAnswers => DecisionForm::Points(
            loaded.facts.iter().find(|(k, _)| k == "Points possible").and_then(|(_, v)| v.parse().ok()).unwrap_or(1),
        ),
        Queue::WorkRecords => verdicts(&[("approve", "Approve"), ("reject", "Reject")]),
        Queue::Appeals => verdicts(&[("uphold", "Uphold the rejection"), ("overturn", "Overturn: approve and pay")]),
        Queue::StandingMoves if loaded.facts.iter().any(|(k, v)| k == "Status" && v == "appealed") => {
            verdicts(&[("uphold", "Uphold the move"), ("overturn", "Overturn: restore the previous tier")])
        }
        Queue::StandingMoves => verdicts(&[("confirm", "Confirm: the move takes effect"), ("dismiss", "Dismiss")]),
    }
}

fn fact(label: &str, value: impl Into<String>) -> (String, String) {
    (label.to_string(), value.into())
}

fn load_item(conn: &mut DbConn, queue: Queue, id: i64) -> AppResult<Loaded> {
    Ok(match queue {
        Queue::WorkAuthorizations => {
            let wa = crate::onboarding::service::find_authorization(conn, id)?;
            let docs = crate::onboarding::service::documents_of(conn, id)?;
            Loaded {
                person_id: wa.user_id,
                heading: format!("Work authorization #{id}"),
                facts: vec![
                    fact("Category", wa.category.as_str().replace('_', " ")),
                    fact(
                        "Authorized until",
                        wa.expires_on.map(|d| d.to_string()).unwrap_or_else(|| "no end date".into()),
                    ),
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
                pending: wa.status == crate::onboarding::model::AuthorizationStatus::PendingReview,
                claimed_by: wa.claimed_by,
                claim_expires_at: wa.claim_expires_at,
            }
        }
        Queue::Credentials => {
            let c = crate::credentials::service::find(conn, id)?;
            let mut facts = vec![
                fact("Kind", c.kind.to_string()),
                fact("Title", c.title.clone()),
                fact("Issuer", c.issuer.clone()),
                fact("Domain", c.domain.clone()),
                fact("Level", c.level.map(|l| l.to_string()).unwrap_or_else(|| "—".into())),
                fact("Issued", c.issued_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into())),
                fact("Expires", c.expires_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into())),
                fact("Submitted", when(&c.submitted_at)),
                fact("Status", c.status.as_str().replace('_', " ")),
            ];
            if c.flagged {
                facts.push(fact("Flagged", c.flag_reason.clone().unwrap_or_else(|| "yes".into())));
            }
            Loaded {
                person_id: c.user_id,
                heading: format!("Credential #{id}: {}", c.title),
                facts,
                file_ids: vec![(c.file_id, "Uploaded credential".into())],
                pending: c.status == crate::credentials::model::CredentialStatus::PendingReview,
                claimed_by: c.claimed_by,
                claim_expires_at: c.claim_expires_at,
            }
        }
        Queue::TestAnswers => {
            let i = crate::qualifications::service::review_item(conn, id)?;
            Loaded {
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
                pending: i.review.status == crate::qualifications::model::ReviewStatus::Pending,
                claimed_by: i.review.claimed_by,
                claim_expires_at: i.review.claim_expires_at,
            }
        }
        Queue::WorkRecords => {
            let r = crate::work::service::record_row(conn, id)?;
            Loaded {
                person_id: r.contributor_id,
                heading: format!("Work record #{id} · task {}", r.task_ref),
                facts: work_facts(&r),
                file_ids: vec![],
                pending: r.status == crate::work::model::WorkStatus::Pending,
                claimed_by: r.claimed_by,
                claim_expires_at: r.claim_expires_at,
            }
        }
        Queue::Appeals => {
            let a = crate::work::service::appeal_row(conn, id)?;
            let r = crate::work::service::record_row(conn, a.work_record_id)?;
            let mut facts = vec![fact("Appeal", a.message.clone()), fact("Appealed", when(&a.created_at))];
            facts.extend(work_facts(&r));
            Loaded {
                person_id: a.contributor_id,
                heading: format!("Appeal #{id} · task {}", r.task_ref),
                facts,
                file_ids: vec![],
                pending: a.status == crate::work::model::AppealStatus::Pending,
                claimed_by: a.claimed_by,
                claim_expires_at: a.claim_expires_at,
            }
        }
        Queue::StandingMoves => {
            let m = crate::quality::service::move_row(conn, id)?;
            let mut facts = vec![
                fact("Status", m.status.to_string()),
                fact("Domain", m.domain.clone()),
                fact("Move", format!("{}: {} → {}", m.direction, m.from_tier, m.to_tier)),
                fact("Reason", m.reason_code.as_str().replace('_', " ")),
                fact("Why", m.note.clone()),
                fact("Figures", m.figures.clone()),
                fact("Proposed", when(&m.proposed_at)),
            ];
            if let Some(message) = &m.appeal_message {
                facts.push(fact("Appeal", message.clone()));
                facts.push(fact(
                    "Confirmed by",
                    m.reviewed_by.map(|r| format!("staff #{r}")).unwrap_or("automatic".into()),
                ));
            }
            Loaded {
                person_id: m.user_id,
                heading: format!("Standing move #{id} · {}", m.domain),
                facts,
                file_ids: vec![],
                pending: matches!(m.status, MoveStatus::Proposed | MoveStatus::Appealed),
                claimed_by: m.claimed_by,
                claim_expires_at: m.claim_expires_at,
            }
        }
    })
}

fn work_facts(r: &crate::work::model::WorkRecordRow) -> Vec<(String, String)> {
    vec![
        fact("Task", r.task_ref.clone()),
        fact("Quantity", format!("{} {} at {}", r.quantity, r.unit_kind, r.rate)),
        fact("Pay", dollars(r.pay_cents)),
        fact("Completed", when(&r.completed_at)),
        fact("Status", r.status.to_string()),
        fact("Reason", r.reason_code.clone().unwrap_or_else(|| "—".into())),
        fact("Note", r.note.clone().unwrap_or_else(|| "—".into())),
    ]
}

fn history_line(d: Decision) -> HistoryLine {
    HistoryLine {
        at: when(&d.decided_at),
        subject: format!("{} #{}", d.subject_type.as_str().replace('_', " "), d.subject_id),
        outcome: d.outcome.as_str().replace('_', " "),
        reason: d.reason_code.replace('_', " "),
        note: d.note,
        by: d.decided_by.map(|id| format!("staff #{id}")).unwrap_or_else(|| "automatic".into()),
    }
}

pub async fn item(
    st: web::Data<AppState>,
    user: Console<Reviewer>,
    path: web::Path<(String, i64)>,
    q: web::Query<NoticeQuery>,
) -> PageResult {
    let (slug, id) = path.into_inner();
    let queue = queue_of(&slug)?;
    let state = st.clone();
    let (loaded, person, history, files, now) = crate::blocking(move || {
        state.db.read_sync(|conn| {
            let loaded = load_item(conn, queue, id)?;
            let person = crate::auth::service::find_user(conn, loaded.person_id)?.full_name;
            let history = crate::decisions::service::list_for(conn, loaded.person_id, None, Some(50))?;
            let mut files = Vec::new();
            for (file_id, label) in &loaded.file_ids {
                let f = crate::files::service::find(conn, *file_id)?;
                files.push(FileView { id: f.id, label: label.clone(), image: f.content_type.starts_with("image/") });
            }
            Ok((loaded, person, history, files, state.clock.now()))
        })
    })
    .await?;
    let (claim, mine, _) = claim_text(now, user.id, loaded.claimed_by, loaded.claim_expires_at);
    render(&ItemPage {
        layout: Layout::new(&user, queue.slug(), q.notice.as_deref()),
        queue,
        id,
        person,
        person_id: loaded.person_id,
        heading: loaded.heading.clone(),
        form: decision_form(queue, &loaded),
        facts: loaded.facts,
        // The document is shown only to the claim holder, as the API serves it.
        files: if mine { files } else { Vec::new() },
        pending: loaded.pending,
        claim,
        mine,
        history: history.into_iter().map(history_line).collect(),
    })
}

pub async fn claim(st: web::Data<AppState>, user: Console<Reviewer>, path: web::Path<(String, i64)>) -> PageResult {
    let (slug, id) = path.into_inner();
    let queue = queue_of(&slug)?;
    let state = st.clone();
    let (me, ctx) = (user.id, user.ctx.clone());
    crate::blocking(move || {
        let st = &state;
        match queue {
            Queue::WorkAuthorizations => crate::onboarding::service::claim(st, &ctx, me, id).map(drop),
            Queue::Credentials => crate::credentials::service::claim(st, &ctx, me, id).map(drop),
            Queue::TestAnswers => crate::qualifications::service::claim(st, &ctx, me, id).map(drop),
            Queue::WorkRecords => crate::work::service::claim(st, &ctx, me, id).map(drop),
            Queue::Appeals => crate::work::service::claim_appeal(st, &ctx, me, id).map(drop),
            Queue::StandingMoves => crate::quality::service::claim(st, &ctx, me, id).map(drop),
        }
    })
    .await?;
    see_other(&format!("/console/review/{}/{id}", queue.slug()), "claimed")
}

#[derive(Deserialize)]
pub struct DecisionInput {
    /// `outcome:reason_code` (authorizations, credentials) or a verdict.
    decision: Option<String>,
    reason_code: Option<String>,
    points: Option<String>,
    #[serde(default)]
    note: String,
}

fn parse_enum<T: serde::de::DeserializeOwned>(field: &str, value: &str) -> AppResult<T> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| AppError::field(field, "invalid", format!("{value:?} is not a choice of this form")))
}

fn decide_now(st: &AppState, user: &ConsoleUser, queue: Queue, id: i64, input: DecisionInput) -> AppResult<()> {
    let (me, ctx) = (user.id, &user.ctx);
    let choice = input.decision.unwrap_or_default();
    let (outcome, reason) = choice.split_once(':').unwrap_or((choice.as_str(), ""));
    let reason_code = input.reason_code.unwrap_or_default();
    match queue {
        Queue::WorkAuthorizations => {
            let d = crate::onboarding::service::ReviewDecision {
                outcome: parse_enum("decision", outcome)?,
                reason_code: reason.to_string(),
                note: input.note,
            };
            crate::onboarding::service::decide(st, ctx, me, id, d).map(drop)
        }
        Queue::Credentials => {
            let outcome: CredentialOutcome = parse_enum("decision", outcome)?;
            crate::credentials::service::decide(st, ctx, me, id, outcome, reason, &input.note).map(drop)
        }
        Queue::TestAnswers => {
            let points: i64 = input
                .points
                .as_deref()
                .and_then(|p| p.trim().parse().ok())
                .ok_or_else(|| AppError::field("points", "invalid", "whole points, from 0 to the maximum"))?;
            crate::qualifications::service::decide(st, ctx, me, id, points as f64, &input.note).map(drop)
        }
        Queue::WorkRecords => {
            let d = crate::work::service::ReviewDecision {
                verdict: parse_enum::<Verdict>("decision", outcome)?,
                reason_code: reason_code.trim().to_string(),
                note: input.note,
                snapshot_ref: None,
            };
            crate::work::service::decide(st, ctx, me, id, d).map(drop)
        }
        Queue::Appeals => {
            let verdict: AppealVerdict = parse_enum("decision", outcome)?;
            crate::work::service::decide_appeal(st, ctx, me, id, verdict, reason_code.trim(), &input.note).map(drop)
        }
        Queue::StandingMoves => {
            let verdict: crate::quality::service::MoveVerdict = parse_enum("decision", outcome)?;
            crate::quality::service::decide(st, ctx, me, id, verdict, reason_code.trim(), &input.note).map(drop)
        }
    }
}

pub async fn decide(
    st: web::Data<AppState>,
    user: Console<Reviewer>,
    path: web::Path<(String, i64)>,
    form: web::Form<DecisionInput>,
) -> PageResult {
    let (slug, id) = path.into_inner();
    let queue = queue_of(&slug)?;
    let state = st.clone();
    let user = user.user;
    crate::blocking(move || decide_now(&state, &user, queue, id, form.into_inner())).await?;
    see_other(&format!("/console/review/{}", queue.slug()), "decided")
}

/// A document, inline, for whoever the API would serve it to (the claim holder, an
/// admin, its owner); the read is audited the same way.
pub async fn file(st: web::Data<AppState>, user: Console<AnyStaff>, id: web::Path<i64>) -> PageResult {
    let (state, id, who) = (st.clone(), id.into_inner(), user.auth_user());
    let (file, bytes) = crate::blocking(move || crate::files::service::open(&state, &who, id)).await?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header(("Content-Disposition", format!("inline; filename=\"file-{}\"", file.id)))
        .body(bytes))
}
