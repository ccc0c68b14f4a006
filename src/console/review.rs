//! Reviewer pages: the dashboard of queues, each queue, and an item beside its document
//! and decision form. Every action calls the same service function as the REST API,
//! through the queue's [`ReviewQueue`].

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::guard::{Console, ConsoleError, PageResult};
use super::layout::{age, dollars, render, render_invalid, see_other, when, FormErrors, Layout};
use super::list::{filter_choice, flagged_filter, next_of, stream_csv, ListNav, ListQuery, SortKey, PAGE};
use super::session::ConsoleUser;
use crate::auth::roles::{AnyStaff, Reviewer};
use crate::credentials::model::CredentialKind;
use crate::db::DbConn;
use crate::decisions::model::Decision;
use crate::error::{AppError, AppResult};
use crate::ledger::model::AccountKind;
use crate::review::{self, Form, ListFilter, QueueSort, ReviewQueue, Show};
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
    /// The 30-day trend of items waiting at the end of each day, when there is one.
    trend: Option<super::charts::Spark>,
}

/// Money owed to contributors, from the ledger's contributor accounts.
struct Money {
    held: String,
    available: String,
    in_payout: String,
    late: String,
    late_people: usize,
    promise_days: i64,
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    queues: Vec<QueueLine>,
    money: Option<Money>,
}

/// Days of the dashboard's trends.
const TREND_DAYS: i64 = 30;

pub async fn dashboard(st: web::Data<AppState>, user: Console<AnyStaff>, q: web::Query<NoticeQuery>) -> PageResult {
    let state = st.clone();
    let finance = user.has(crate::auth::roles::Role::Finance);
    let (stats, trends, money) = crate::blocking(move || {
        let now = state.clock.now();
        let (stats, trends) = state
            .db
            .read_sync(|c| Ok((review::stats(c, &QUEUES)?, super::charts::waiting_trends(c, now, TREND_DAYS)?)))?;
        let money = if finance {
            let totals = state.db.read_sync(super::charts::owed_by_kind)?;
            let late = crate::payouts::service::late_payouts(&state, None, i64::MAX)?;
            let promise_days = state.settings()?.payment_promise().num_days();
            Some((totals, late.iter().map(|l| l.late_cents).sum::<i64>(), late.len(), promise_days))
        } else {
            None
        };
        Ok((stats, trends, money))
    })
    .await?;
    let now = st.clock.now();
    let queues = stats
        .into_iter()
        .map(|s| QueueLine {
            slug: s.queue,
            title: queue_of(s.queue).map(|q| q.title()).unwrap_or(s.queue),
            size: s.size,
            oldest: s.oldest.map(|t| age(now, t)).unwrap_or_else(|| "—".into()),
            trend: trends.iter().find(|(q, _)| *q == s.queue).map(|(q, points)| super::charts::Spark::of(q, points)),
        })
        .collect();
    let money = money.map(|(totals, late, late_people, promise_days)| {
        let of = |kind: AccountKind| dollars(totals.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v).unwrap_or(0));
        Money {
            held: of(AccountKind::Held),
            available: of(AccountKind::Available),
            in_payout: of(AccountKind::InPayout),
            late: dollars(late),
            late_people,
            promise_days,
        }
    });
    render(&DashboardPage { layout: Layout::new(&user, "dashboard", q.notice.as_deref()), queues, money })
}

// ---------------------------------------------------------------- a queue

/// One waiting item, as a queue lists it.
struct Entry {
    id: i64,
    person_id: i64,
    person: String,
    email: String,
    summary: String,
    since_at: chrono::NaiveDateTime,
    since: String,
    age: String,
    claim: String,
    mine: bool,
    unclaimed: bool,
    flagged: bool,
    amount: String,
}

const QUEUE_SORTS: [SortKey; 4] = [
    SortKey { key: "since", label: "Waiting since" },
    SortKey { key: "id", label: "#" },
    SortKey { key: "person", label: "Person" },
    SortKey { key: "amount", label: "Amount" },
];

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
    total: i64,
    bulk: Option<BulkResult>,
    errors: FormErrors,
    reason_code: String,
    note: String,
    nav: ListNav,
}

/// Who holds an item: "you", "Ana Reviewer until …", or "unclaimed" (also when lapsed).
fn claim_text(
    now: chrono::NaiveDateTime,
    me: i64,
    by: Option<i64>,
    until: Option<chrono::NaiveDateTime>,
    names: &HashMap<i64, (String, String)>,
) -> (String, bool, bool) {
    match (by, until) {
        (Some(by), Some(until)) if until > now => {
            let who = if by == me {
                "you".to_string()
            } else {
                names.get(&by).map(|(n, _)| n.clone()).unwrap_or_else(|| format!("reviewer #{by}"))
            };
            (format!("{who} until {}", when(&until)), by == me, false)
        }
        _ => ("unclaimed".into(), false, true),
    }
}

/// What a queue page selects, from its query string, for [`ReviewQueue::list`] and
/// [`ReviewQueue::count`]: the search, claim, date and credential filters and the order
/// all go to the queue's query.
fn filter_of(q: &ListQuery, me: i64) -> AppResult<ListFilter> {
    let (from, to) = q.range()?;
    let order = q.order(&QUEUE_SORTS, false)?;
    Ok(ListFilter {
        kind: filter_choice("kind", &q.kind, CredentialKind::parse)?,
        flagged: flagged_filter(&q.flagged)?,
        search: q.search(),
        show: filter_choice("show", &q.show, |v| match v {
            "all" => Some(Show::All),
            "mine" => Some(Show::HeldBy(me)),
            "unclaimed" => Some(Show::Unclaimed),
            _ => None,
        })?
        .unwrap_or(Show::All),
        from,
        to,
        sort: match order.key {
            "id" => QueueSort::Id,
            "person" => QueueSort::Person,
            "amount" => QueueSort::Amount,
            _ => QueueSort::Since,
        },
        desc: order.desc,
        limit: Some(PAGE),
        after: None,
    })
}

fn people(st: &AppState, ids: Vec<i64>) -> AppResult<HashMap<i64, (String, String)>> {
    st.db.read_sync(|c| {
        Ok(crate::auth::service::find_users(c, &ids)?.into_iter().map(|u| (u.id, (u.full_name, u.email))).collect())
    })
}

/// A page of a queue ([`ReviewQueue::list`]) with the names and emails of the people
/// and the claim holders.
fn load_entries(st: &AppState, queue: Queue, filter: &ListFilter, me: i64) -> AppResult<Vec<Entry>> {
    let raw = queue.list(st, filter)?;
    let mut ids: Vec<i64> = raw.iter().map(|r| r.person_id).chain(raw.iter().filter_map(|r| r.claimed_by)).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = people(st, ids)?;
    let now = st.clock.now();
    Ok(raw
        .into_iter()
        .map(|r| {
            let (claim, mine, unclaimed) = claim_text(now, me, r.claimed_by, r.claim_expires_at, &names);
            let (person, email) =
                names.get(&r.person_id).cloned().unwrap_or_else(|| (format!("user #{}", r.person_id), String::new()));
            Entry {
                id: r.id,
                person_id: r.person_id,
                person,
                email,
                summary: r.summary,
                since_at: r.since,
                since: when(&r.since),
                age: age(now, r.since),
                claim,
                mine,
                unclaimed,
                flagged: r.flagged,
                amount: dollars(r.cents),
            }
        })
        .collect())
}

fn queue_base(queue: Queue) -> String {
    format!("/console/review/{}", queue.slug())
}

pub async fn queue(
    st: web::Data<AppState>,
    user: Console<Reviewer>,
    path: web::Path<String>,
    q: web::Query<ListQuery>,
) -> PageResult {
    let queue = queue_of(&path)?;
    queue_page(st, user, queue, q.into_inner(), None, FormErrors::default(), None).await
}

/// A queue page, with the outcome of a bulk approval or the errors of its form: the
/// page the filters select (searched, filtered and sorted by the queue's query), or
/// with `format=csv` every item they select, streamed.
async fn queue_page(
    st: web::Data<AppState>,
    user: Console<Reviewer>,
    queue: Queue,
    q: ListQuery,
    bulk: Option<BulkResult>,
    errors: FormErrors,
    kept: Option<(String, String)>,
) -> PageResult {
    let order = q.order(&QUEUE_SORTS, false)?;
    let me = user.id;
    let mut filter = filter_of(&q, me)?;
    let base = queue_base(queue);
    if q.csv()? {
        let name = format!("{}.csv", queue.slug());
        let header = ["id", "person_id", "person", "email", "item", "waiting_since", "claim", "flagged"];
        let state = st.clone();
        return Ok(stream_csv(&name, &header, move |after, limit| {
            let f = ListFilter { after, limit: Some(limit), ..filter.clone() };
            let entries = load_entries(&state, queue, &f, me)?;
            let next = next_of(&entries, limit, |e| e.id);
            let rows = entries
                .into_iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.person_id.to_string(),
                        e.person,
                        e.email,
                        e.summary,
                        crate::clock::rfc3339(e.since_at),
                        e.claim,
                        e.flagged.to_string(),
                    ]
                })
                .collect();
            Ok((rows, next))
        })
        .await?);
    }
    filter.after = q.cursor()?;
    let (kind, flagged) = (filter.kind, filter.flagged == Some(true));
    let state = st.clone();
    let (entries, total) = crate::blocking(move || {
        let entries = load_entries(&state, queue, &filter, me)?;
        let total = queue.count(&state, &filter)?;
        Ok((entries, total))
    })
    .await?;
    let next = next_of(&entries, PAGE, |e| e.id);
    let (reason_code, note) = kept.unwrap_or_else(|| ("meets_guidelines".into(), String::new()));
    render(&QueuePage {
        layout: Layout::new(&user, queue.slug(), q.notice.as_deref()),
        queue,
        entries,
        show: if q.show.is_empty() { "all".into() } else { q.show.clone() },
        kinds: CredentialKind::ALL.iter().map(|k| (k.as_str(), kind == Some(*k))).collect(),
        flagged,
        total,
        bulk,
        errors,
        reason_code,
        note,
        nav: q.nav(&base, &QUEUE_SORTS, order, next),
    })
}

// ---------------------------------------------------------------- claim next, bulk approval

/// Claims the oldest unclaimed item of a queue the reviewer may take (not their own) and
/// opens it; with nothing left, back to the queue with a notice.
pub async fn claim_next(st: web::Data<AppState>, user: Console<Reviewer>, path: web::Path<String>) -> PageResult {
    let queue = queue_of(&path)?;
    let state = st.clone();
    let (me, ctx) = (user.id, user.ctx.clone());
    let claimed = crate::blocking(move || {
        // The oldest unclaimed first, a page at a time.
        let mut filter = ListFilter { show: Show::Unclaimed, limit: Some(PAGE), ..Default::default() };
        loop {
            let page = queue.list(&state, &filter)?;
            for w in page.iter().filter(|w| w.person_id != me) {
                // Another reviewer may take it first: try the next one.
                match claim_one(&state, &ctx, me, queue, w.id) {
                    Ok(()) => return Ok(Some(w.id)),
                    Err(AppError::Conflict { .. } | AppError::ConflictWith { .. } | AppError::Forbidden(_)) => continue,
                    Err(other) => return Err(other),
                }
            }
            match next_of(&page, PAGE, |w| w.id) {
                Some(last) => filter.after = Some(last),
                None => return Ok(None),
            }
        }
    })
    .await?;
    match claimed {
        Some(id) => see_other(&format!("/console/review/{}/{id}", queue.slug()), "claimed"),
        None => see_other(&queue_base(queue), "nothing_to_claim"),
    }
}

fn claim_one(st: &AppState, ctx: &crate::auth::RequestCtx, me: i64, queue: Queue, id: i64) -> AppResult<()> {
    review::claim(st, ctx, queue, me, id)
}

/// What a bulk approval did: how many were approved, and each refusal with its reason.
pub struct BulkResult {
    approved: usize,
    refused: Vec<(i64, String)>,
}

/// The queue of bulk approvals.
const WORK_RECORDS: Queue = &crate::work::queue::WorkRecords;

/// Approves the ticked work records through [`crate::work::service::approve_in_bulk`]:
/// each exactly as a single approval (its own transaction, decision, email and one
/// audit record); a record the rules refuse (claimed by someone else, already decided,
/// the reviewer's own work) is listed with the reason, the others are approved. A form
/// the service refuses as a whole (nothing ticked, a malformed reason code) comes back
/// with the errors beside its fields and the input kept.
pub async fn bulk_approve(
    st: web::Data<AppState>,
    user: Console<Reviewer>,
    form: web::Form<Vec<(String, String)>>,
) -> PageResult {
    let fields = form.into_inner();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let (reason_code, note) = (field("reason_code"), field("note"));
    let mut errors = FormErrors::default();
    let ids: Vec<i64> = fields.iter().filter(|(k, _)| k == "ids").filter_map(|(_, v)| v.parse().ok()).collect();
    // Every field's error at once (the service stops at the first).
    if let Err(e) = review::free_reason_code(&reason_code) {
        errors.absorb(&e);
    }
    if let Err(e) = review::note(&note, false) {
        errors.absorb(&e);
    }
    let outcome = if errors.is_empty() {
        let (state, me, ctx) = (st.clone(), user.id, user.ctx.clone());
        let (code, text) = (reason_code.clone(), note.clone());
        crate::blocking(move || crate::work::service::approve_in_bulk(&state, &ctx, me, &ids, &code, &text)).await
    } else {
        Err(AppError::Validation(Vec::new()))
    };
    match outcome {
        Ok(done) => {
            let result = BulkResult {
                approved: done.approved.len(),
                refused: done.refused.into_iter().map(|(id, e)| (id, e.public_detail())).collect(),
            };
            queue_page(
                st,
                user,
                WORK_RECORDS,
                ListQuery::default(),
                Some(result),
                FormErrors::default(),
                Some((reason_code, String::new())),
            )
            .await
        }
        Err(e) => {
            errors.items.extend(FormErrors::from_error(e)?.items);
            let mut res =
                queue_page(st, user, WORK_RECORDS, ListQuery::default(), None, errors, Some((reason_code, note)))
                    .await?;
            *res.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
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
    errors: FormErrors,
    kept: Kept,
    /// Credentials: this one and every other credential whose file has the same bytes,
    /// side by side (rows of label and one value per credential).
    twins: Option<Comparison>,
}

/// The queue whose flagged items are compared with their twins.
const CREDENTIALS: Queue = &crate::credentials::queue::Credentials;

/// Credentials compared column by column: headers, then rows of a label and values.
struct Comparison {
    columns: Vec<(i64, String)>,
    rows: Vec<(&'static str, Vec<String>)>,
}

/// The credential and the others whose file has the same SHA-256 (the duplicate-file
/// fraud flag), with their owners, for the side-by-side view.
fn twins(conn: &mut DbConn, id: i64) -> AppResult<Option<Comparison>> {
    use crate::db::schema::{credentials, files, users};
    use diesel::prelude::*;
    let c = crate::credentials::service::find(conn, id)?;
    if !c.flagged {
        return Ok(None);
    }
    let sha: String = files::table.find(c.file_id).select(files::sha256).first(conn)?;
    let same: Vec<i64> = files::table.filter(files::sha256.eq(&sha)).select(files::id).load(conn)?;
    let rows: Vec<(crate::credentials::model::Credential, String, String)> = credentials::table
        .inner_join(users::table.on(users::id.eq(credentials::user_id)))
        .filter(credentials::file_id.eq_any(&same))
        .order(credentials::id.asc())
        .select((crate::credentials::model::Credential::as_select(), users::full_name, users::email))
        .load(conn)?;
    if rows.len() < 2 {
        return Ok(None);
    }
    // This credential first.
    let (mut this, others): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(r, _, _)| r.id == id);
    this.extend(others);
    let col = |f: &dyn Fn(&crate::credentials::model::Credential, &str, &str) -> String| {
        this.iter().map(|(c, n, e)| f(c, n, e)).collect::<Vec<_>>()
    };
    let rows = vec![
        ("Person", col(&|_, n, _| n.to_string())),
        ("Email", col(&|_, _, e| e.to_string())),
        ("Kind", col(&|c, _, _| c.kind.to_string())),
        ("Title", col(&|c, _, _| c.title.clone())),
        ("Issuer", col(&|c, _, _| c.issuer.clone())),
        ("Issued", col(&|c, _, _| c.issued_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into()))),
        ("Submitted", col(&|c, _, _| when(&c.submitted_at))),
        ("Status", col(&|c, _, _| c.status.as_str().replace('_', " "))),
        ("File SHA-256", col(&|_, _, _| sha.chars().take(16).collect::<String>() + "…")),
    ];
    let columns = this
        .iter()
        .map(|(c, _, _)| {
            (c.id, if c.id == id { format!("This credential (#{})", c.id) } else { format!("Credential #{}", c.id) })
        })
        .collect();
    Ok(Some(Comparison { columns, rows }))
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
    item_page(st, user, queue, id, q.notice.as_deref(), FormErrors::default(), Kept::default()).await
}

/// What the decision form held when it was refused, shown again.
#[derive(Default)]
struct Kept {
    decision: String,
    reason_code: String,
    points: String,
    note: String,
}

async fn item_page(
    st: web::Data<AppState>,
    user: Console<Reviewer>,
    queue: Queue,
    id: i64,
    notice: Option<&str>,
    errors: FormErrors,
    kept: Kept,
) -> PageResult {
    let state = st.clone();
    let (loaded, person, history, files, now, twins) = crate::blocking(move || {
        state.db.read_sync(|conn| {
            let loaded = queue.load(conn, id)?;
            let twins = if queue.slug() == CREDENTIALS.slug() { twins(conn, id)? } else { None };
            let person = crate::auth::service::find_user(conn, loaded.person_id)?.full_name;
            let history = crate::decisions::service::list_for(conn, loaded.person_id, None, Some(50))?;
            let mut files = Vec::new();
            for (file_id, label) in &loaded.file_ids {
                let f = crate::files::service::find(conn, *file_id)?;
                files.push(FileView { id: f.id, label: label.clone(), image: f.content_type.is_image() });
            }
            Ok((loaded, person, history, files, state.clock.now(), twins))
        })
    })
    .await?;
    let (claim, mine, _) = claim_text(now, user.id, loaded.claimed_by, loaded.claim_expires_at, &HashMap::new());
    let page = ItemPage {
        layout: Layout::new(&user, queue.slug(), notice),
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
        errors,
        kept,
        twins,
    };
    if page.errors.is_empty() {
        render(&page)
    } else {
        render_invalid(&page)
    }
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

/// Records a decision; a refusal (a missing note, a malformed reason code, points out
/// of range, a lapsed claim) shows the item again with the errors beside the form and
/// what was typed kept.
pub async fn decide(
    st: web::Data<AppState>,
    user: Console<Reviewer>,
    path: web::Path<(String, i64)>,
    form: web::Form<DecisionInput>,
) -> PageResult {
    let (slug, id) = path.into_inner();
    let queue = queue_of(&slug)?;
    let input = form.into_inner();
    let kept = Kept {
        decision: input.decision.clone().unwrap_or_default(),
        reason_code: input.reason_code.clone().unwrap_or_default(),
        points: input.points.clone().unwrap_or_default(),
        note: input.note.clone(),
    };
    let state = st.clone();
    let who = user.user.clone();
    match crate::blocking(move || decide_now(&state, &who, queue, id, input)).await {
        Ok(()) => see_other(&format!("/console/review/{}", queue.slug()), "decided"),
        Err(e) => item_page(st, user, queue, id, None, FormErrors::from_error(e)?, kept).await,
    }
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
