//! A contributor as staff see them in the console: their standing per domain, the
//! account-wide ladder and their standing moves (the same reads as
//! `GET /contributors/{id}/standing`).

use actix_web::web;
use askama::Template;

use super::guard::{Console, PageResult};
use super::layout::{render, when, Layout};
use crate::auth::roles::AnyStaff;
use crate::quality::service::Thresholds;
use crate::AppState;

struct DomainLine {
    domain: String,
    tier: &'static str,
    gold: String,
    agreement: String,
    rejected: String,
    enough: &'static str,
    locked: String,
    next: String,
}

struct MoveLine {
    id: i64,
    domain: String,
    direction: String,
    from_tier: String,
    to_tier: String,
    reason: String,
    status: String,
    proposed: String,
    note: String,
}

#[derive(Template)]
#[template(path = "console/contributor.html")]
struct ContributorPage {
    layout: Layout,
    person: String,
    person_id: i64,
    status: String,
    ladder: &'static str,
    domains: Vec<DomainLine>,
    thresholds: Thresholds,
    moves: Vec<MoveLine>,
}

fn percent(p: Option<i32>, count: i64) -> String {
    p.map_or_else(|| "—".to_string(), |p| format!("{p} % of {count}"))
}

pub async fn page(st: web::Data<AppState>, user: Console<AnyStaff>, id: web::Path<i64>) -> PageResult {
    let id = id.into_inner();
    let state = st.clone();
    let (person, standing, ladder) = crate::blocking(move || {
        let person = state.db.read_sync(|c| crate::auth::service::find_user(c, id))?;
        let standing = crate::quality::service::standing_of(&state, id)?;
        let ladder = crate::work::service::quality_of(&state, id)?;
        Ok((person, standing, ladder))
    })
    .await?;
    let domains = standing
        .domains
        .into_iter()
        .map(|d| DomainLine {
            tier: d.tier.as_str(),
            gold: percent(d.gold_accuracy_percent, d.figures.gold_count),
            agreement: percent(d.consensus_agreement_percent, d.figures.agreement_count),
            rejected: percent(d.rejection_share_percent, d.figures.decided_count),
            enough: if d.enough_items { "yes" } else { "no" },
            locked: d.locked_project_types.iter().map(|p| p.name.clone()).collect::<Vec<_>>().join(", "),
            next: d.next_steps.join(" "),
            domain: d.domain,
        })
        .collect();
    let moves = standing
        .history
        .into_iter()
        .map(|m| MoveLine {
            proposed: when(&m.proposed_at),
            reason: m.reason_code.as_str().replace('_', " "),
            id: m.id,
            domain: m.domain,
            direction: m.direction.to_string(),
            from_tier: m.from_tier.to_string(),
            to_tier: m.to_tier.to_string(),
            status: m.status.to_string(),
            note: m.note,
        })
        .collect();
    render(&ContributorPage {
        layout: Layout::new(&user, "contributors", None),
        person: person.full_name,
        person_id: id,
        status: person.status.to_string(),
        ladder: ladder.level.as_str(),
        domains,
        thresholds: Thresholds::of(&st.config.work.standing),
        moves,
    })
}

// ---------------------------------------------------------------- the list

use diesel::prelude::*;

use super::list::{next_of, stream_csv, ListNav, ListQuery, Order, SortKey, PAGE};
use crate::auth::model::{User, UserStatus};
use crate::auth::roles::Role;
use crate::db::schema::{user_roles, users};
use crate::db::DbConn;
use crate::error::AppResult;

const BASE: &str = "/console/contributors";

const SORTS: [SortKey; 4] = [
    SortKey { key: "id", label: "#" },
    SortKey { key: "name", label: "Name" },
    SortKey { key: "email", label: "Email" },
    SortKey { key: "joined", label: "Joined" },
];

const STATUSES: [UserStatus; 9] = [
    UserStatus::Registered,
    UserStatus::EmailVerified,
    UserStatus::AuthorizationPending,
    UserStatus::AuthorizationVerified,
    UserStatus::Active,
    UserStatus::Rejected,
    UserStatus::Suspended,
    UserStatus::Removed,
    UserStatus::Closed,
];

/// What the filters select, resolved from the query string.
#[derive(Clone)]
struct Filter {
    search: Option<String>,
    id: Option<i64>,
    status: Option<UserStatus>,
    from: Option<chrono::NaiveDateTime>,
    to: Option<chrono::NaiveDateTime>,
    order: Order,
}

impl Filter {
    fn of(q: &ListQuery) -> AppResult<Self> {
        let (from, to) = q.range()?;
        Ok(Self {
            search: q.search(),
            id: q.search_id(),
            status: crate::console::list::filter_choice("status", &q.status, UserStatus::parse)?,
            from,
            to,
            order: q.order(&SORTS, false)?,
        })
    }
}

/// Contributors (accounts holding the applicant role) matching `f`, one page after
/// `after` in the chosen order.
fn contributors(conn: &mut DbConn, f: &Filter, after: Option<i64>, limit: i64) -> AppResult<Vec<User>> {
    let applicants =
        user_roles::table.filter(user_roles::role.eq(Role::Applicant.as_str())).select(user_roles::user_id);
    let mut query = users::table.filter(users::id.eq_any(applicants)).select(User::as_select()).into_boxed();
    if let Some(text) = &f.search {
        let by_text = crate::person_like!(text);
        query = match f.id {
            Some(id) => query.filter(by_text.or(users::id.eq(id))),
            None => query.filter(by_text),
        };
    }
    if let Some(status) = f.status {
        query = query.filter(users::status.eq(status));
    }
    if let Some(from) = f.from {
        query = query.filter(users::created_at.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(users::created_at.lt(to));
    }
    let desc = f.order.desc;
    match f.order.key {
        "name" => {
            let at = after.map(|a| users::table.find(a).select(users::full_name).first::<String>(conn).map(|v| (v, a)));
            crate::keyset_order!(query, users::full_name, users::id, at.transpose()?, desc);
        }
        "email" => {
            let at = after.map(|a| users::table.find(a).select(users::email).first::<String>(conn).map(|v| (v, a)));
            crate::keyset_order!(query, users::email, users::id, at.transpose()?, desc);
        }
        "joined" => {
            let at = after.map(|a| {
                users::table.find(a).select(users::created_at).first::<chrono::NaiveDateTime>(conn).map(|v| (v, a))
            });
            crate::keyset_order!(query, users::created_at, users::id, at.transpose()?, desc);
        }
        _ => {
            if let Some(a) = after {
                query = if desc { query.filter(users::id.lt(a)) } else { query.filter(users::id.gt(a)) };
            }
            query = if desc { query.order(users::id.desc()) } else { query.order(users::id.asc()) };
        }
    }
    Ok(query.limit(limit).load(conn)?)
}

struct PersonLine {
    id: i64,
    name: String,
    email: String,
    status: String,
    joined: String,
}

#[derive(Template)]
#[template(path = "console/contributors.html")]
struct ListPage {
    layout: Layout,
    statuses: Vec<(&'static str, String, bool)>,
    rows: Vec<PersonLine>,
    nav: ListNav,
}

/// `/console/contributors`: search by name, email or id; filter by status and the day
/// they joined; sort by any column; 50 a page; `format=csv` downloads every match.
pub async fn list(
    st: web::Data<AppState>,
    user: Console<AnyStaff>,
    q: web::Query<ListQuery>,
) -> Result<actix_web::HttpResponse, super::guard::ConsoleError> {
    let q = q.into_inner();
    let filter = Filter::of(&q)?;
    if q.csv()? {
        let state = st.clone();
        return Ok(stream_csv(
            "contributors.csv",
            &["id", "name", "email", "status", "joined"],
            move |after, limit| {
                let rows = state.db.read_sync(|c| contributors(c, &filter, after, limit))?;
                let next = next_of(&rows, limit, |u| u.id);
                let cells = rows
                    .into_iter()
                    .map(|u| {
                        vec![u.id.to_string(), u.full_name, u.email, u.status.to_string(), u.created_at.to_string()]
                    })
                    .collect();
                Ok((cells, next))
            },
        )
        .await?);
    }
    let cursor = q.cursor()?;
    let state = st.clone();
    let f = filter.clone();
    let rows = crate::blocking(move || state.db.read_sync(|c| contributors(c, &f, cursor, PAGE))).await?;
    let next = next_of(&rows, PAGE, |u| u.id);
    render(&ListPage {
        layout: Layout::new(&user, "contributors", q.notice.as_deref()),
        statuses: STATUSES
            .iter()
            .map(|s| (s.as_str(), s.as_str().replace('_', " "), filter.status == Some(*s)))
            .collect(),
        rows: rows
            .into_iter()
            .map(|u| PersonLine {
                id: u.id,
                name: u.full_name,
                email: u.email,
                status: u.status.as_str().replace('_', " "),
                joined: when(&u.created_at),
            })
            .collect(),
        nav: q.nav(BASE, &SORTS, filter.order, next),
    })
}
