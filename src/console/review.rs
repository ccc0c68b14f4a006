//! Reviewer pages: the dashboard of queues, each queue, and an item beside its document
//! and decision form. Every action calls the same service function as the REST API.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::guard::{Console, ConsoleError, PageResult};
use super::layout::{age, render, see_other, when, Layout};
use super::session::ConsoleUser;
use crate::auth::roles::{AnyStaff, Reviewer};
use crate::decisions::model::Decision;
use crate::error::{AppError, AppResult};
use crate::review::{self, Form, ListFilter, ReviewQueue};
use crate::AppState;

/// A review queue, as the pages name it (its templates call `slug()` and `title()`).
type Queue = &'static dyn ReviewQueue;

/// Every review queue, in the dashboard's order. Each is its capability's
/// implementation of [`ReviewQueue`]: the pages below list, show, claim and decide
/// through it alone.
pub const QUEUES: [Queue; 6] = [
    &crate::onboarding::queue::WorkAuthorizations,
    &crate::credentials::queue::Credentials,
    &crate::qualifications::queue::TestAnswers,
    &crate::work::queue::WorkRecords,
    &crate::work::queue::Appeals,
    &crate::quality::queue::StandingMoves,
];

fn queue_of(s: &str) -> Result<Queue, ConsoleError> {
    QUEUES.into_iter().find(|q| q.slug() == s).ok_or(ConsoleError::App(AppError::NotFound))
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
    let stats = crate::blocking(move || state.db.read_sync(|c| review::stats(c, &QUEUES))).await?;
    let now = st.clock.now();
    let queues = stats
        .into_iter()
        .map(|s| QueueLine {
            slug: s.queue,
            title: queue_of(s.queue).map(|q| q.title()).unwrap_or(s.queue),
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
            let filter = ListFilter {
                kind: q.kind.clone(),
                flagged: q.flagged.as_deref().map(|f| f == "true"),
                limit: Some(200),
            };
            let raw = queue.list(&state, &filter)?;
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

/// The decision form of a queue's item.
fn decision_form(form: &Form) -> DecisionForm {
    match form {
        Form::Reasons(groups) => DecisionForm::Reasons(
            groups
                .iter()
                .map(|g| ChoiceGroup {
                    label: g.label,
                    choices: g
                        .codes
                        .iter()
                        .map(|code| Choice { value: format!("{}:{code}", g.outcome), label: code.replace('_', " ") })
                        .collect(),
                })
                .collect(),
        ),
        Form::Verdicts(pairs) => DecisionForm::Verdicts(
            pairs.iter().map(|(v, l)| Choice { value: v.to_string(), label: l.to_string() }).collect(),
        ),
        Form::Points(max) => DecisionForm::Points(*max),
    }
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
            let loaded = queue.load(conn, id)?;
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
        form: decision_form(&loaded.form),
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
    crate::blocking(move || review::claim(&state, &ctx, queue, me, id)).await?;
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

fn decide_now(st: &AppState, user: &ConsoleUser, queue: Queue, id: i64, input: DecisionInput) -> AppResult<()> {
    let decision = review::Decision {
        decision: input.decision.unwrap_or_default(),
        reason_code: input.reason_code.unwrap_or_default(),
        points: input.points,
        note: input.note,
    };
    queue.decide(st, &user.ctx, user.id, id, decision)
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
