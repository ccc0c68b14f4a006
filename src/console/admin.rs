//! Admin pages: staff and roles, project types, qualification tests, the email outbox
//! and the audit log, over the auth, qualifications, notifications and audit services.

use actix_web::web;
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;
use validator::Validate;

use super::guard::{Console, PageResult};
use super::layout::{render, render_invalid, see_other, when, when_opt, FormErrors, Layout};
use super::list::{
    contains_pattern, filter_choice, lower, next_of, stream_csv, ListFormat, ListNav, ListQuery, Order, SortKey, PAGE,
};
use crate::audit::model::AuditRow;
use crate::audit::service::AuditFilter;
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::model::{User, UserStatus};
use crate::auth::roles::{Admin, Role};
use crate::db::schema::{project_types, user_roles, users};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::notifications::model::OutboxStatus;
use crate::qualifications::model::{ProjectTypeRow, RequiredQualification, Tier};
use crate::AppState;

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// Staff roles from a form's checkboxes (`reviewer=on` …).
#[derive(Deserialize)]
pub struct RoleBoxes {
    reviewer: Option<String>,
    finance: Option<String>,
    admin: Option<String>,
}

impl RoleBoxes {
    fn roles(&self) -> Vec<Role> {
        [(&self.reviewer, Role::Reviewer), (&self.finance, Role::Finance), (&self.admin, Role::Admin)]
            .into_iter()
            .filter(|(on, _)| on.is_some())
            .map(|(_, role)| role)
            .collect()
    }
}

// ---------------------------------------------------------------- staff

struct StaffLine {
    id: i64,
    name: String,
    email: String,
    status: String,
    active: bool,
    /// Has not chosen a password yet: the invitation can be sent again.
    invited: bool,
    reviewer: bool,
    finance: bool,
    admin: bool,
}

/// The add-staff form as it was posted, kept when it is refused.
#[derive(Default)]
struct NewStaffInput {
    full_name: String,
    email: String,
    reviewer: bool,
    finance: bool,
    admin: bool,
}

#[derive(Template)]
#[template(path = "console/staff.html")]
struct StaffPage {
    layout: Layout,
    staff: Vec<StaffLine>,
    input: NewStaffInput,
    errors: FormErrors,
    statuses: Vec<(&'static str, bool)>,
    roles: Vec<(&'static str, bool)>,
    nav: ListNav,
}

const STAFF_BASE: &str = "/console/admin/staff";

const STAFF_SORTS: [SortKey; 4] = [
    SortKey { key: "name", label: "Name" },
    SortKey { key: "email", label: "Email" },
    SortKey { key: "status", label: "Status" },
    SortKey { key: "id", label: "#" },
];

const STAFF_STATUSES: [UserStatus; 2] = [UserStatus::Staff, UserStatus::Disabled];

const STAFF_ROLES: [Role; 3] = [Role::Reviewer, Role::Finance, Role::Admin];

/// Which staff accounts the list selects, from its query string.
#[derive(Clone)]
struct StaffSelection {
    search: Option<String>,
    id: Option<i64>,
    status: Option<UserStatus>,
    role: Option<Role>,
    order: Order,
}

impl StaffSelection {
    fn of(q: &ListQuery) -> AppResult<Self> {
        let staff_status = |s: &str| UserStatus::parse(s).filter(|s| STAFF_STATUSES.contains(s));
        let staff_role = |r: &str| Role::parse(r).filter(|r| r.is_staff());
        Ok(Self {
            search: q.search(),
            id: q.search_id(),
            status: filter_choice("status", &q.status, staff_status)?,
            role: filter_choice("role", &q.role, staff_role)?,
            order: q.order(&STAFF_SORTS, false)?,
        })
    }
}

/// Staff accounts (any role but applicant) matching `f` with their roles, one page
/// after `after` in the chosen order.
fn staff_rows(
    conn: &mut DbConn,
    f: &StaffSelection,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<(User, Vec<Role>)>> {
    let staff = user_roles::table.filter(user_roles::role.ne(Role::Applicant.as_str())).select(user_roles::user_id);
    let mut query = users::table.filter(users::id.eq_any(staff)).select(User::as_select()).into_boxed();
    if let Some(text) = &f.search {
        let by_text = crate::person_like!(text);
        query = match f.id {
            Some(id) => query.filter(by_text.or(users::id.eq(id))),
            None => query.filter(by_text),
        };
    }
    if let Some(status) = f.status {
        query = query.filter(users::status.eq(status.as_str()));
    }
    if let Some(role) = f.role {
        let holding = user_roles::table.filter(user_roles::role.eq(role.as_str())).select(user_roles::user_id);
        query = query.filter(users::id.eq_any(holding));
    }
    let (t, id, desc) = (users::table, users::id, f.order.desc);
    match f.order.key {
        "email" => crate::keyset_after!(query, conn, t, users::email, id, String, after, desc),
        "status" => crate::keyset_after!(query, conn, t, users::status, id, String, after, desc),
        "id" => crate::keyset_after!(query, conn, t, id, id, i64, after, desc),
        _ => crate::keyset_after!(query, conn, t, users::full_name, id, String, after, desc),
    }
    let rows: Vec<User> = query.limit(limit).load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|u| u.id).collect();
    let held: Vec<(i64, String)> = user_roles::table
        .filter(user_roles::user_id.eq_any(&ids))
        .select((user_roles::user_id, user_roles::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|u| {
            let mut roles: Vec<Role> =
                held.iter().filter(|(who, _)| *who == u.id).filter_map(|(_, r)| Role::parse(r)).collect();
            roles.sort();
            (u, roles)
        })
        .collect())
}

fn staff_line(u: User, roles: &[Role]) -> StaffLine {
    StaffLine {
        id: u.id,
        active: u.status() == UserStatus::Staff,
        invited: u.password_hash.is_none() && u.status() == UserStatus::Staff,
        name: u.full_name,
        email: u.email,
        status: u.status.as_str().replace('_', " "),
        reviewer: roles.contains(&Role::Reviewer),
        finance: roles.contains(&Role::Finance),
        admin: roles.contains(&Role::Admin),
    }
}

async fn staff_page(
    st: web::Data<AppState>,
    user: Console<Admin>,
    q: ListQuery,
    input: NewStaffInput,
    errors: FormErrors,
) -> PageResult {
    let selection = StaffSelection::of(&q)?;
    let cursor = q.cursor()?;
    let (state, f) = (st.clone(), selection.clone());
    let rows = crate::blocking(move || state.db.read_sync(|c| staff_rows(c, &f, cursor, PAGE))).await?;
    let next = next_of(&rows, PAGE, |r| r.0.id);
    let page = StaffPage {
        layout: Layout::new(&user, "staff", q.notice.as_deref()),
        staff: rows.into_iter().map(|(u, roles)| staff_line(u, &roles)).collect(),
        input,
        errors,
        statuses: STAFF_STATUSES.iter().map(|s| (s.as_str(), selection.status == Some(*s))).collect(),
        roles: STAFF_ROLES.iter().map(|r| (r.as_str(), selection.role == Some(*r))).collect(),
        nav: q.nav(STAFF_BASE, &STAFF_SORTS, selection.order, next),
    };
    if page.errors.is_empty() {
        render(&page)
    } else {
        render_invalid(&page)
    }
}

/// `/console/admin/staff`: staff accounts searched by name, email or id, filtered by
/// status and role, sorted by any column, 50 a page; `format=csv` downloads every
/// match; and the form that adds one.
pub async fn staff(
    st: web::Data<AppState>,
    user: Console<Admin>,
    q: web::Query<ListQuery>,
) -> Result<actix_web::HttpResponse, super::guard::ConsoleError> {
    let q = q.into_inner();
    if q.csv()? {
        let selection = StaffSelection::of(&q)?;
        let state = st.clone();
        return Ok(stream_csv(
            "staff.csv",
            &["id", "name", "email", "status", "roles", "invited"],
            move |after, limit| {
                let rows = state.db.read_sync(|c| staff_rows(c, &selection, after, limit))?;
                let next = next_of(&rows, limit, |r| r.0.id);
                let cells = rows
                    .into_iter()
                    .map(|(u, roles)| {
                        let line = staff_line(u, &roles);
                        vec![
                            line.id.to_string(),
                            line.name,
                            line.email,
                            line.status,
                            roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" "),
                            line.invited.to_string(),
                        ]
                    })
                    .collect();
                Ok((cells, next))
            },
        )
        .await?);
    }
    staff_page(st, user, q, NewStaffInput::default(), FormErrors::default()).await
}

#[derive(Deserialize)]
pub struct NewStaffForm {
    email: String,
    full_name: String,
    #[serde(flatten)]
    roles: RoleBoxes,
}

/// Adds a staff member; a refusal (a taken email, no role, a bad name) is shown beside
/// the form with what was typed kept.
pub async fn create_staff(st: web::Data<AppState>, user: Console<Admin>, form: web::Form<NewStaffForm>) -> PageResult {
    let form = form.into_inner();
    let kept = NewStaffInput {
        full_name: form.full_name.clone(),
        email: form.email.clone(),
        reviewer: form.roles.reviewer.is_some(),
        finance: form.roles.finance.is_some(),
        admin: form.roles.admin.is_some(),
    };
    let input =
        crate::auth::service::NewStaff { email: form.email, full_name: form.full_name, roles: form.roles.roles() };
    let (state, admin, ctx) = (st.clone(), user.id, user.ctx.clone());
    match crate::blocking(move || crate::auth::service::create_staff(&state, &ctx, admin, input)).await {
        Ok(_) => see_other("/console/admin/staff", "staff_created"),
        Err(e) => staff_page(st, user, ListQuery::default(), kept, FormErrors::from_error(e)?).await,
    }
}

pub async fn set_roles(
    st: web::Data<AppState>,
    user: Console<Admin>,
    id: web::Path<i64>,
    form: web::Form<RoleBoxes>,
) -> PageResult {
    let (state, id, roles) = (st.clone(), id.into_inner(), form.roles());
    crate::blocking(move || crate::auth::service::set_staff_roles(&state, &user.ctx, user.id, id, roles)).await?;
    see_other("/console/admin/staff", "roles_changed")
}

/// Deactivates a staff account (the API's `POST /admin/staff/{id}/disable`): their
/// sessions end at once.
pub async fn deactivate(st: web::Data<AppState>, user: Console<Admin>, id: web::Path<i64>) -> PageResult {
    let (state, id) = (st.clone(), id.into_inner());
    crate::blocking(move || crate::auth::service::set_staff_enabled(&state, &user.ctx, user.id, id, false)).await?;
    see_other("/console/admin/staff", "deactivated")
}

pub async fn reactivate(st: web::Data<AppState>, user: Console<Admin>, id: web::Path<i64>) -> PageResult {
    let (state, id) = (st.clone(), id.into_inner());
    crate::blocking(move || crate::auth::service::set_staff_enabled(&state, &user.ctx, user.id, id, true)).await?;
    see_other("/console/admin/staff", "roles_changed")
}

/// Sends the invitation again (the API's `POST /admin/staff/{id}/invitation`).
pub async fn resend_invitation(st: web::Data<AppState>, user: Console<Admin>, id: web::Path<i64>) -> PageResult {
    let (state, id) = (st.clone(), id.into_inner());
    crate::blocking(move || crate::auth::service::resend_invitation(&state, &user.ctx, user.id, id)).await?;
    see_other("/console/admin/staff", "invitation_sent")
}

// ---------------------------------------------------------------- project types

struct ProjectLine {
    id: i64,
    name: String,
    required: String,
    standing: String,
    created: String,
}

#[derive(Template)]
#[template(path = "console/projects.html")]
struct ProjectsPage {
    layout: Layout,
    projects: Vec<ProjectLine>,
    nav: ListNav,
}

const PROJECTS_BASE: &str = "/console/admin/projects";

const PROJECT_SORTS: [SortKey; 3] = [
    SortKey { key: "id", label: "#" },
    SortKey { key: "name", label: "Name" },
    SortKey { key: "created", label: "Created" },
];

/// Which project types the list selects: a search of the name, the required
/// qualifications and the standing domain (or the id), and the day created.
#[derive(Clone)]
struct ProjectSelection {
    search: Option<String>,
    id: Option<i64>,
    from: Option<chrono::NaiveDateTime>,
    to: Option<chrono::NaiveDateTime>,
    order: Order,
}

fn project_rows(
    conn: &mut DbConn,
    f: &ProjectSelection,
    after: Option<i64>,
    limit: i64,
) -> AppResult<Vec<ProjectTypeRow>> {
    let mut query = project_types::table.select(ProjectTypeRow::as_select()).into_boxed();
    if let Some(text) = &f.search {
        let pattern = contains_pattern(text);
        let by_text = lower(project_types::name)
            .like(pattern.clone())
            .escape('\\')
            .or(lower(project_types::required_qualifications).like(pattern.clone()).escape('\\'))
            .or(lower(project_types::standing_domain.assume_not_null()).like(pattern).escape('\\'));
        query = match f.id {
            Some(id) => query.filter(by_text.or(project_types::id.eq(id))),
            None => query.filter(by_text),
        };
    }
    if let Some(from) = f.from {
        query = query.filter(project_types::created_at.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(project_types::created_at.lt(to));
    }
    let (t, id, desc) = (project_types::table, project_types::id, f.order.desc);
    match f.order.key {
        "name" => crate::keyset_after!(query, conn, t, project_types::name, id, String, after, desc),
        "created" => {
            crate::keyset_after!(query, conn, t, project_types::created_at, id, chrono::NaiveDateTime, after, desc)
        }
        _ => crate::keyset_after!(query, conn, t, id, id, i64, after, desc),
    }
    Ok(query.limit(limit).load(conn)?)
}

fn project_line(p: ProjectTypeRow) -> ProjectLine {
    ProjectLine {
        id: p.id,
        name: p.name,
        required: p.required_qualifications,
        standing: p.standing_domain.map(|d| format!("{d}: {}", p.required_standing)).unwrap_or_default(),
        created: when(&p.created_at),
    }
}

/// `/console/admin/projects`: project types searched by name, requirement or id,
/// filtered by the day created, sorted by any column, 50 a page; `format=csv` downloads
/// every match; and the form that adds one.
pub async fn projects(
    st: web::Data<AppState>,
    user: Console<Admin>,
    q: web::Query<ListQuery>,
) -> Result<actix_web::HttpResponse, super::guard::ConsoleError> {
    let q = q.into_inner();
    let (from, to) = q.range()?;
    let selection =
        ProjectSelection { search: q.search(), id: q.search_id(), from, to, order: q.order(&PROJECT_SORTS, false)? };
    if q.csv()? {
        let state = st.clone();
        let header = ["id", "name", "required_qualifications", "standing", "created_at"];
        return Ok(stream_csv("projects.csv", &header, move |after, limit| {
            let rows = state.db.read_sync(|c| project_rows(c, &selection, after, limit))?;
            let next = next_of(&rows, limit, |p| p.id);
            let cells = rows
                .into_iter()
                .map(|p| {
                    let created = crate::clock::rfc3339(p.created_at);
                    let line = project_line(p);
                    vec![line.id.to_string(), line.name, line.required, line.standing, created]
                })
                .collect();
            Ok((cells, next))
        })
        .await?);
    }
    let cursor = q.cursor()?;
    let (state, f) = (st.clone(), selection.clone());
    let rows = crate::blocking(move || state.db.read_sync(|c| project_rows(c, &f, cursor, PAGE))).await?;
    let next = next_of(&rows, PAGE, |p| p.id);
    render(&ProjectsPage {
        layout: Layout::new(&user, "projects", q.notice.as_deref()),
        projects: rows.into_iter().map(project_line).collect(),
        nav: q.nav(PROJECTS_BASE, &PROJECT_SORTS, selection.order, next),
    })
}

#[derive(Deserialize)]
pub struct ProjectForm {
    name: String,
    /// One `domain:tier` per line, e.g. `math:expert`.
    #[serde(default)]
    requirements: String,
}

/// `domain:tier` lines into requirements; a bad line is a field error naming it.
fn requirements(text: &str) -> AppResult<Vec<RequiredQualification>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (domain, tier) = line.split_once(':').unwrap_or((line, "generalist"));
            let tier = Tier::parse(tier.trim()).ok_or_else(|| {
                AppError::field("requirements", "invalid", format!("{line:?}: the tier is generalist or expert"))
            })?;
            Ok(RequiredQualification { domain: domain.trim().to_lowercase(), tier })
        })
        .collect()
}

pub async fn create_project(st: web::Data<AppState>, user: Console<Admin>, form: web::Form<ProjectForm>) -> PageResult {
    let form = form.into_inner();
    let required = requirements(&form.requirements)?;
    let state = st.clone();
    crate::blocking(move || {
        crate::qualifications::service::create_project_type(
            &state,
            &user.ctx,
            user.id,
            form.name.trim(),
            required,
            Default::default(),
        )
    })
    .await?;
    see_other("/console/admin/projects", "project_created")
}

// ---------------------------------------------------------------- qualification tests

struct TestLine {
    id: i64,
    title: String,
    domain: String,
    tier: String,
    status: String,
    version: i32,
}

#[derive(Template)]
#[template(path = "console/tests.html")]
struct TestsPage {
    layout: Layout,
    tests: Vec<TestLine>,
    example: &'static str,
}

/// Shown in the sections box of the authoring form: one section, two questions.
const EXAMPLE_SECTIONS: &str = r#"[
  {"title": "Basics", "questions": [
    {"id": "q1", "prompt": "2 + 2 = ?", "type": "single_choice",
     "options": [{"id": "a", "text": "4"}, {"id": "b", "text": "5"}], "correct": "a"},
    {"id": "q2", "prompt": "Explain why.", "type": "free_text", "points": 2,
     "rubric": "Mentions addition of natural numbers."}
  ]}
]"#;

pub async fn tests(st: web::Data<AppState>, user: Console<Admin>, q: web::Query<NoticeQuery>) -> PageResult {
    let state = st.clone();
    let rows = crate::blocking(move || state.db.read_sync(crate::qualifications::service::all_tests)).await?;
    render(&TestsPage {
        layout: Layout::new(&user, "tests", q.notice.as_deref()),
        tests: rows
            .into_iter()
            .map(|t| TestLine {
                id: t.id,
                title: t.title,
                domain: t.domain,
                tier: t.tier.to_string(),
                status: t.status.to_string(),
                version: t.current_version,
            })
            .collect(),
        example: EXAMPLE_SECTIONS,
    })
}

#[derive(Deserialize)]
pub struct TestForm {
    domain: String,
    tier: String,
    title: String,
    time_limit_minutes: String,
    pass_mark_percent: String,
    attempt_limit: String,
    cooldown_hours: String,
    #[serde(default)]
    stipend_cents: String,
    #[serde(default)]
    qualification_valid_days: String,
    /// The sections and questions, as the API takes them (JSON).
    sections: String,
}

fn number<T: std::str::FromStr>(field: &str, value: &str) -> AppResult<T> {
    value.trim().parse().map_err(|_| AppError::field(field, "invalid", "a whole number"))
}

fn optional<T: std::str::FromStr>(field: &str, value: &str) -> AppResult<Option<T>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        number(field, value).map(Some)
    }
}

impl TestForm {
    /// The same definition `POST /admin/tests` takes.
    fn definition(&self) -> AppResult<crate::qualifications::service::TestDefinition> {
        let sections = serde_json::from_str(&self.sections)
            .map_err(|e| AppError::field("sections", "invalid", format!("the sections are not valid JSON: {e}")))?;
        Ok(crate::qualifications::service::TestDefinition {
            domain: self.domain.trim().to_string(),
            tier: Tier::parse(self.tier.trim())
                .ok_or_else(|| AppError::field("tier", "invalid", "generalist or expert"))?,
            title: self.title.trim().to_string(),
            time_limit_minutes: number("time_limit_minutes", &self.time_limit_minutes)?,
            pass_mark_percent: number("pass_mark_percent", &self.pass_mark_percent)?,
            attempt_limit: number("attempt_limit", &self.attempt_limit)?,
            cooldown_hours: number("cooldown_hours", &self.cooldown_hours)?,
            stipend_cents: optional("stipend_cents", &self.stipend_cents)?,
            qualification_valid_days: optional("qualification_valid_days", &self.qualification_valid_days)?,
            prerequisites: Vec::new(),
            sections,
        })
    }
}

pub async fn create_test(st: web::Data<AppState>, user: Console<Admin>, form: web::Form<TestForm>) -> PageResult {
    let def = form.definition()?;
    def.validate().map_err(AppError::from)?;
    let state = st.clone();
    crate::blocking(move || crate::qualifications::service::create_test(&state, &user.ctx, user.id, def)).await?;
    see_other("/console/admin/tests", "test_created")
}

// ---------------------------------------------------------------- outbox

struct OutboxLine {
    id: i64,
    recipient: String,
    subject: String,
    status: String,
    attempts: i32,
    created: String,
    sent: String,
    error: String,
    dead: bool,
}

#[derive(Template)]
#[template(path = "console/outbox.html")]
struct OutboxPage {
    layout: Layout,
    status: String,
    q: super::list::ListQuery,
    rows: Vec<OutboxLine>,
    next: Option<String>,
    first: Option<String>,
    csv: String,
}

const OUTBOX_BASE: &str = "/console/admin/outbox";

/// The outbox, newest first, 50 a page: by status, and by recipient (the search is an
/// email address, matched exactly as the API's `recipient` filter); `format=csv`
/// downloads every email the filters select.
pub async fn outbox(
    st: web::Data<AppState>,
    user: Console<Admin>,
    q: web::Query<super::list::ListQuery>,
) -> Result<actix_web::HttpResponse, super::guard::ConsoleError> {
    let q = q.into_inner();
    let status = filter_choice("status", &q.status, OutboxStatus::parse)?;
    let recipient = non_empty(&q.q);
    let filter = move |cursor: Option<i64>, limit: i64| crate::notifications::service::OutboxFilter {
        status,
        recipient: recipient.clone(),
        cursor,
        limit: Some(limit),
    };
    if q.csv()? {
        let state = st.clone();
        let f = filter.clone();
        let header = ["id", "recipient", "subject", "status", "attempts", "queued", "sent", "last_error"];
        return Ok(super::list::stream_csv("outbox.csv", &header, move |after, limit| {
            let rows = state.db.read_sync(|c| crate::notifications::service::list(c, &f(after, limit)))?;
            let next = crate::db::next_cursor(&rows, Some(limit), |r| r.id);
            let cells = rows
                .into_iter()
                .map(|r| {
                    let subject = r.subject().unwrap_or_default();
                    vec![
                        r.id.to_string(),
                        r.recipient,
                        subject,
                        r.status.to_string(),
                        r.attempts.to_string(),
                        r.created_at.to_string(),
                        r.sent_at.map(|t| t.to_string()).unwrap_or_default(),
                        r.last_error.unwrap_or_default(),
                    ]
                })
                .collect();
            Ok((cells, next))
        })
        .await?);
    }
    let cursor = q.cursor()?;
    let page = super::list::PAGE;
    let f = filter(cursor, page);
    let state = st.clone();
    let rows = crate::blocking(move || state.db.read_sync(|c| crate::notifications::service::list(c, &f))).await?;
    let next = q.next_href(OUTBOX_BASE, crate::db::next_cursor(&rows, Some(page), |r| r.id));
    render(&OutboxPage {
        layout: Layout::new(&user, "outbox", q.notice.as_deref()),
        status: q.status.clone(),
        rows: rows
            .into_iter()
            .map(|r| OutboxLine {
                id: r.id,
                dead: r.status == OutboxStatus::Dead,
                subject: r.subject().unwrap_or_default(),
                recipient: r.recipient,
                status: r.status.to_string(),
                attempts: r.attempts,
                created: when(&r.created_at),
                sent: when_opt(&r.sent_at),
                error: r.last_error.unwrap_or_default(),
            })
            .collect(),
        next,
        first: cursor.map(|_| q.href(OUTBOX_BASE, &[])),
        csv: q.csv_href(OUTBOX_BASE),
        q,
    })
}

pub async fn retry(st: web::Data<AppState>, user: Console<Admin>, id: web::Path<i64>) -> PageResult {
    let (state, id) = (st.clone(), id.into_inner());
    crate::blocking(move || crate::notifications::service::retry_dead(&state, &user.ctx, user.id, id)).await?;
    see_other("/console/admin/outbox?status=dead", "retried")
}

// ---------------------------------------------------------------- audit log

/// One field of an audit summary: its value before and after the change.
struct Change {
    field: String,
    before: String,
    after: String,
}

struct AuditLine {
    id: i64,
    at: String,
    actor: String,
    actor_email: String,
    action: String,
    subject: String,
    changes: Vec<Change>,
    request_id: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    layout: Layout,
    actor_id: String,
    action: String,
    subject_type: String,
    subject_id: String,
    from: String,
    to: String,
    rows: Vec<AuditLine>,
    next: Option<i64>,
    csv: String,
    /// Every action and subject type, with whether the filter chose it.
    actions: Vec<(&'static str, bool)>,
    subject_types: Vec<(&'static str, bool)>,
}

/// The options of a closed-set filter: every value, the chosen one marked.
fn options<T: Copy + PartialEq>(
    all: &[T],
    chosen: Option<T>,
    text: fn(T) -> &'static str,
) -> Vec<(&'static str, bool)> {
    all.iter().map(|&v| (text(v), Some(v) == chosen)).collect()
}

/// A closed-set filter's value: empty is none, anything but one of the set is a field
/// error.
#[derive(Deserialize, serde::Serialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor_id: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject_type: String,
    #[serde(default)]
    subject_id: String,
    /// First and last day included, `YYYY-MM-DD`.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(skip_serializing)]
    before: Option<i64>,
    #[serde(default, skip_serializing)]
    format: String,
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

fn day(field: &str, value: &str) -> AppResult<Option<chrono::NaiveDate>> {
    non_empty(value)
        .map(|v| {
            chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                .map_err(|_| AppError::field(field, "invalid", "a date, YYYY-MM-DD"))
        })
        .transpose()
}

fn plain_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A summary (`{"before": {…}, "after": {…}}`, or any object) as field-by-field changes.
fn changes(summary: &str) -> Vec<Change> {
    let Ok(serde_json::Value::Object(top)) = serde_json::from_str::<serde_json::Value>(summary) else {
        return vec![Change { field: "summary".into(), before: String::new(), after: summary.to_string() }];
    };
    let side = |k: &str| top.get(k).and_then(|v| v.as_object()).cloned();
    let (before, after) = (side("before"), side("after"));
    if before.is_none() && after.is_none() {
        return top
            .iter()
            .map(|(k, v)| Change { field: k.clone(), before: String::new(), after: plain_value(v) })
            .collect();
    }
    let (before, after) = (before.unwrap_or_default(), after.unwrap_or_default());
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut out: Vec<Change> = fields
        .into_iter()
        .map(|f| Change {
            field: f.clone(),
            before: before.get(f).map(plain_value).unwrap_or_default(),
            after: after.get(f).map(plain_value).unwrap_or_default(),
        })
        .collect();
    // Anything beside before/after (a reason, a count) is shown as it is.
    for (k, v) in top.iter().filter(|(k, _)| *k != "before" && *k != "after") {
        out.push(Change { field: k.clone(), before: String::new(), after: plain_value(v) });
    }
    out
}

type People = std::collections::HashMap<i64, (String, String)>;

fn people(conn: &mut crate::db::DbConn, ids: Vec<i64>) -> AppResult<People> {
    Ok(crate::auth::service::find_users(conn, &ids)?.into_iter().map(|u| (u.id, (u.full_name, u.email))).collect())
}

impl AuditQuery {
    /// The filter this query selects, a page of `limit` rows after `cursor`; every field
    /// outside its set is a 422 naming it.
    fn filter(&self, cursor: Option<i64>, limit: i64) -> AppResult<AuditFilter> {
        Ok(AuditFilter {
            actor_id: optional("actor_id", &self.actor_id)?,
            action: filter_choice("action", &self.action, AuditAction::parse)?,
            subject_type: filter_choice("subject_type", &self.subject_type, AuditSubject::parse)?,
            subject_id: non_empty(&self.subject_id),
            from: day("from", &self.from)?,
            to: day("to", &self.to)?,
            cursor,
            limit: Some(limit),
        })
    }
}

/// Audit records and the people who acted in them.
fn audit_rows(conn: &mut DbConn, filter: &AuditFilter) -> AppResult<(Vec<AuditRow>, People)> {
    let rows = crate::audit::service::list(conn, filter)?;
    let who = people(conn, rows.iter().filter_map(|r| r.actor_id).collect())?;
    Ok((rows, who))
}

const AUDIT_CSV_HEADER: [&str; 10] = [
    "id",
    "at",
    "actor_id",
    "actor_name",
    "actor_email",
    "action",
    "subject_type",
    "subject_id",
    "summary",
    "request_id",
];

/// One audit record as a CSV row ([`AUDIT_CSV_HEADER`]).
fn audit_csv_row(r: AuditRow, who: &People) -> Vec<String> {
    let (name, email) = r.actor_id.and_then(|a| who.get(&a).cloned()).unwrap_or_default();
    vec![
        r.id.to_string(),
        r.at.to_string(),
        r.actor_id.map(|a| a.to_string()).unwrap_or_default(),
        name,
        email,
        r.action.to_string(),
        r.subject_type.to_string(),
        r.subject_id.unwrap_or_default(),
        r.summary,
        r.request_id.unwrap_or_default(),
    ]
}

/// One audit record as a line of the page: who acted (`system` for a job) and what
/// changed, field by field.
fn audit_line(r: AuditRow, who: &People) -> AuditLine {
    let (actor, actor_email) = match r.actor_id {
        None => ("system".to_string(), String::new()),
        Some(a) => who.get(&a).cloned().unwrap_or_else(|| (format!("#{a}"), String::new())),
    };
    AuditLine {
        id: r.id,
        at: when(&r.at),
        actor,
        actor_email,
        action: r.action.to_string(),
        subject: format!("{} {}", r.subject_type, r.subject_id.unwrap_or_default()),
        changes: changes(&r.summary),
        request_id: r.request_id.unwrap_or_default(),
    }
}

/// The audit log searched by actor, action, subject and date range, newest first; the
/// same filters download as CSV (`format=csv`), streamed.
pub async fn audit(
    st: web::Data<AppState>,
    user: Console<Admin>,
    q: web::Query<AuditQuery>,
) -> Result<actix_web::HttpResponse, super::guard::ConsoleError> {
    let q = q.into_inner();
    const PAGE: i64 = 100;
    let filter = q.filter(q.before, PAGE)?;
    if ListFormat::of(&q.format)? == ListFormat::Csv {
        let state = st.clone();
        return Ok(stream_csv("audit.csv", &AUDIT_CSV_HEADER, move |after, limit| {
            let f = AuditFilter { cursor: after, limit: Some(limit), subject_id: filter.subject_id.clone(), ..filter };
            let (rows, who) = state.db.read_sync(|c| audit_rows(c, &f))?;
            let next = crate::db::next_cursor(&rows, Some(limit), |r| r.id);
            Ok((rows.into_iter().map(|r| audit_csv_row(r, &who)).collect(), next))
        })
        .await?);
    }
    let (filter_action, filter_subject) = (filter.action, filter.subject_type);
    let state = st.clone();
    let (rows, who) = crate::blocking(move || state.db.read_sync(|c| audit_rows(c, &filter))).await?;
    let next = crate::db::next_cursor(&rows, Some(PAGE), |r| r.id);
    let csv = format!("/console/admin/audit?{}&format=csv", serde_urlencoded::to_string(&q).unwrap_or_default());
    render(&AuditPage {
        layout: Layout::new(&user, "audit", None),
        rows: rows.into_iter().map(|r| audit_line(r, &who)).collect(),
        next,
        csv,
        actions: options(AuditAction::ALL, filter_action, AuditAction::as_str),
        subject_types: options(AuditSubject::ALL, filter_subject, AuditSubject::as_str),
        actor_id: q.actor_id,
        action: q.action,
        subject_type: q.subject_type,
        subject_id: q.subject_id,
        from: q.from,
        to: q.to,
    })
}

// ---------------------------------------------------------------- settings

struct SettingLine {
    key: &'static str,
    description: &'static str,
    value: String,
    seed: String,
    range: String,
    pending: String,
    changed: String,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    layout: Layout,
    rows: Vec<SettingLine>,
}

fn plain(v: &serde_json::Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

pub async fn settings(st: web::Data<AppState>, user: Console<Admin>, q: web::Query<NoticeQuery>) -> PageResult {
    let state = st.clone();
    let views = st.db.read(move |c| crate::settings::service::view(c, &state)).await?;
    render(&SettingsPage {
        layout: Layout::new(&user, "settings", q.notice.as_deref()),
        rows: views
            .into_iter()
            .map(|v| SettingLine {
                key: v.key,
                description: v.description,
                value: plain(&v.value),
                seed: plain(&v.seed),
                range: match (v.min, v.max) {
                    (Some(min), Some(max)) => format!("{min} to {max} {}", v.unit),
                    _ => v.unit.replace('_', " "),
                },
                pending: serde_json::to_value(v.applies_to_pending)
                    .map(|p| plain(&p).replace('_', " "))
                    .unwrap_or_default(),
                changed: v.updated_by.map(|by| format!("{} by #{by}", when_opt(&v.updated_at))).unwrap_or_default(),
            })
            .collect(),
    })
}

/// Saves the settings form through the API's service call: whole numbers are sent as
/// numbers, the rest as text, and the registry validates both the same way.
pub async fn save_settings(
    st: web::Data<AppState>,
    user: Console<Admin>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> PageResult {
    let changes: serde_json::Map<String, serde_json::Value> = form
        .into_inner()
        .into_iter()
        .filter(|(k, _)| k != "_csrf")
        .map(|(k, v)| {
            let v = v.trim().to_string();
            let value = v.parse::<i64>().map(serde_json::Value::from).unwrap_or(serde_json::Value::String(v));
            (k, value)
        })
        .collect();
    let state = st.clone();
    crate::blocking(move || crate::settings::service::update(&state, &user.ctx, user.id, changes)).await?;
    see_other("/console/admin/settings", "settings_saved")
}
