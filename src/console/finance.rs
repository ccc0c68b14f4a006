//! Finance pages: unpaid and late earnings, payout batches (preview, build, approve,
//! export, settle) and the 1099-NEC year end, over the payouts and tax services.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use super::guard::{Console, ConsoleError, PageResult};
use super::layout::{dollars, render, see_other, when, when_opt, Layout};
use super::list::{
    filter_choice, next_of, page_in_memory, stream_csv, stream_rows, ListNav, ListQuery, Order, SortKey, PAGE,
};
use crate::auth::roles::Finance;
use crate::crypto::random_token;
use crate::db::schema::{payout_batches, payout_items, payout_methods, users};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::payouts::exports::Format;
use crate::payouts::model::{BatchRow, BatchStatus, ItemRow, ItemStatus, Rail};
use crate::payouts::service::{self as payouts, BuildRequest, Candidate};
use crate::tax::filing::{self, ExportFormat};
use crate::AppState;

/// Eligible money per rail, as the preview and the batch page show it.
struct RailLine {
    rail: String,
    items: i64,
    total: String,
}

struct Excluded {
    contributor_id: i64,
    person: String,
    available_cents: i64,
    available: String,
    reasons: String,
}

/// The preview of a batch built now: per-rail counts and totals, and who is left out.
struct Preview {
    minimum: String,
    eligible_count: usize,
    eligible_total: String,
    rails: Vec<RailLine>,
    excluded: Vec<Excluded>,
}

/// Full names of contributors, for lists that would otherwise show bare ids.
async fn names(st: &web::Data<AppState>, ids: Vec<i64>) -> Result<HashMap<i64, String>, ConsoleError> {
    let state = st.clone();
    Ok(crate::blocking(move || state.db.read_sync(|c| crate::auth::service::names_of(c, &ids))).await?)
}

fn name_of(names: &HashMap<i64, String>, id: i64) -> String {
    names.get(&id).cloned().unwrap_or_default()
}

fn preview_of(minimum_cents: i64, all: Vec<Candidate>, names: &HashMap<i64, String>) -> Preview {
    let (eligible, ineligible): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.reasons.is_empty());
    let mut rails: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for c in &eligible {
        let rail = c.rail.map(|r| r.as_str().to_string()).unwrap_or_else(|| "none".into());
        let e = rails.entry(rail).or_default();
        e.0 += 1;
        e.1 += c.available_cents;
    }
    Preview {
        minimum: dollars(minimum_cents),
        eligible_count: eligible.len(),
        eligible_total: dollars(eligible.iter().map(|c| c.available_cents).sum()),
        rails: rails
            .into_iter()
            .map(|(rail, (items, cents))| RailLine { rail, items, total: dollars(cents) })
            .collect(),
        excluded: ineligible
            .into_iter()
            .map(|c| Excluded {
                contributor_id: c.contributor_id,
                person: name_of(names, c.contributor_id),
                available_cents: c.available_cents,
                available: dollars(c.available_cents),
                reasons: crate::readiness::in_words(&c.reasons),
            })
            .collect(),
    }
}

async fn load_preview(st: &web::Data<AppState>) -> Result<Preview, ConsoleError> {
    let state = st.clone();
    let (minimum, all) = crate::blocking(move || payouts::preview(&state)).await?;
    let names = names(st, all.iter().filter(|c| !c.reasons.is_empty()).map(|c| c.contributor_id).collect()).await?;
    Ok(preview_of(minimum, all, &names))
}

// ---------------------------------------------------------------- earnings

struct LateLine {
    contributor_id: i64,
    person: String,
    email: String,
    records: i64,
    late_cents: i64,
    late: String,
    due_at: NaiveDateTime,
    due_by: String,
    available: String,
    in_payout: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "console/earnings.html")]
struct EarningsPage {
    layout: Layout,
    preview: Preview,
    promise_days: i64,
    late: Vec<LateLine>,
    total: usize,
    nav: ListNav,
}

const EARNINGS_BASE: &str = "/console/finance/earnings";

const LATE_SORTS: [SortKey; 4] = [
    SortKey { key: "due", label: "Due by" },
    SortKey { key: "person", label: "Contributor" },
    SortKey { key: "records", label: "Records" },
    SortKey { key: "late", label: "Late" },
];

/// Whether person `who` matches the list's search (name, email or id, any case).
fn person_matches(q: &ListQuery, people: &HashMap<i64, (String, String)>, who: i64) -> bool {
    let Some(needle) = q.search().map(|s| s.to_lowercase()) else { return true };
    q.search_id() == Some(who)
        || people.get(&who).is_some_and(|(name, email)| {
            name.to_lowercase().contains(&needle) || email.to_lowercase().contains(&needle)
        })
}

/// Approved-but-unpaid money: the preview of a batch built now, and the late payments
/// (computed whole by the payouts service) searched by name, email or id, sorted by any
/// column, 50 a page; `format=csv` downloads every late payment the search selects.
pub async fn earnings(st: web::Data<AppState>, user: Console<Finance>, q: web::Query<ListQuery>) -> PageResult {
    let q = q.into_inner();
    let order = q.order(&LATE_SORTS, false)?;
    let cursor = q.cursor()?;
    let preview = load_preview(&st).await?;
    let state = st.clone();
    let (promise_days, late, people) = crate::blocking(move || {
        let late = payouts::late_payouts(&state, None, i64::MAX)?;
        let people = people_of(&state, late.iter().map(|l| l.contributor_id).collect())?;
        Ok((state.settings()?.payment_promise().num_days(), late, people))
    })
    .await?;
    let mut late: Vec<LateLine> = late
        .into_iter()
        .filter(|l| person_matches(&q, &people, l.contributor_id))
        .map(|l| LateLine {
            person: people.get(&l.contributor_id).map(|p| p.0.clone()).unwrap_or_default(),
            email: people.get(&l.contributor_id).map(|p| p.1.clone()).unwrap_or_default(),
            contributor_id: l.contributor_id,
            records: l.late_records,
            late_cents: l.late_cents,
            late: dollars(l.late_cents),
            due_at: l.due_by,
            due_by: when(&l.due_by),
            available: dollars(l.available_cents),
            in_payout: dollars(l.in_payout_cents),
            reasons: crate::readiness::in_words(&l.reasons),
        })
        .collect();
    match order.key {
        "person" => late.sort_by(|a, b| a.person.cmp(&b.person).then(a.contributor_id.cmp(&b.contributor_id))),
        "records" => late.sort_by_key(|l| (l.records, l.contributor_id)),
        "late" => late.sort_by_key(|l| (l.late_cents, l.contributor_id)),
        _ => late.sort_by_key(|l| (l.due_at, l.contributor_id)),
    }
    if order.desc {
        late.reverse();
    }
    if q.csv()? {
        let rows: Vec<Vec<String>> = late
            .into_iter()
            .map(|l| {
                vec![
                    l.contributor_id.to_string(),
                    l.person,
                    l.email,
                    l.records.to_string(),
                    l.late,
                    crate::clock::rfc3339(l.due_at),
                    l.available,
                    l.in_payout,
                    l.reasons,
                ]
            })
            .collect();
        let header = [
            "contributor_id",
            "name",
            "email",
            "late_records",
            "late",
            "due_by",
            "available",
            "in_payout",
            "why_not_paid",
        ];
        return Ok(stream_rows("late-payments.csv", &header, rows).await?);
    }
    let total = late.len();
    let (late, next) = page_in_memory(late, cursor, PAGE, |l| l.contributor_id);
    render(&EarningsPage {
        layout: Layout::new(&user, "earnings", q.notice.as_deref()),
        preview,
        promise_days,
        late,
        total,
        nav: q.nav(EARNINGS_BASE, &LATE_SORTS, order, next),
    })
}

#[derive(Template)]
#[template(path = "console/left_out.html")]
struct LeftOutPage {
    layout: Layout,
    minimum: String,
    rows: Vec<Excluded>,
    total: usize,
    nav: ListNav,
}

const LEFT_OUT_BASE: &str = "/console/finance/left-out";

const LEFT_OUT_SORTS: [SortKey; 3] = [
    SortKey { key: "person", label: "Contributor" },
    SortKey { key: "available", label: "Available" },
    SortKey { key: "id", label: "#" },
];

/// Who has money available but would be left out of a batch built now, and why (the
/// readiness requirements), searched by name, email, id or reason, sorted, 50 a page;
/// `format=csv` downloads every one the search selects.
pub async fn left_out(st: web::Data<AppState>, user: Console<Finance>, q: web::Query<ListQuery>) -> PageResult {
    let q = q.into_inner();
    let order = q.order(&LEFT_OUT_SORTS, false)?;
    let cursor = q.cursor()?;
    let state = st.clone();
    let (minimum, all) = crate::blocking(move || payouts::preview(&state)).await?;
    let state = st.clone();
    let ids: Vec<i64> = all.iter().filter(|c| !c.reasons.is_empty()).map(|c| c.contributor_id).collect();
    let people = crate::blocking(move || people_of(&state, ids)).await?;
    let names: HashMap<i64, String> = people.iter().map(|(id, (name, _))| (*id, name.clone())).collect();
    let needle = q.search().map(|s| s.to_lowercase());
    let mut rows: Vec<Excluded> = preview_of(minimum, all, &names)
        .excluded
        .into_iter()
        .filter(|x| {
            person_matches(&q, &people, x.contributor_id)
                || needle.as_ref().is_some_and(|n| x.reasons.to_lowercase().contains(n))
        })
        .collect();
    match order.key {
        "available" => rows.sort_by_key(|x| (x.available_cents, x.contributor_id)),
        "id" => rows.sort_by_key(|x| x.contributor_id),
        _ => rows.sort_by(|a, b| a.person.cmp(&b.person).then(a.contributor_id.cmp(&b.contributor_id))),
    }
    if order.desc {
        rows.reverse();
    }
    if q.csv()? {
        let cells = rows
            .into_iter()
            .map(|x| {
                let email = people.get(&x.contributor_id).map(|p| p.1.clone()).unwrap_or_default();
                vec![x.contributor_id.to_string(), x.person, email, x.available_cents.to_string(), x.reasons]
            })
            .collect();
        let header = ["contributor_id", "name", "email", "available_cents", "reasons"];
        return Ok(stream_rows("left-out.csv", &header, cells).await?);
    }
    let total = rows.len();
    let (rows, next) = page_in_memory(rows, cursor, PAGE, |x| x.contributor_id);
    render(&LeftOutPage {
        layout: Layout::new(&user, "earnings", q.notice.as_deref()),
        minimum: dollars(minimum),
        rows,
        total,
        nav: q.nav(LEFT_OUT_BASE, &LEFT_OUT_SORTS, order, next),
    })
}

// ---------------------------------------------------------------- batches

struct BatchLine {
    id: i64,
    status: String,
    created: String,
    items: i64,
    net: String,
    note: String,
}

const BATCHES_BASE: &str = "/console/finance/batches";

const BATCH_SORTS: [SortKey; 5] = [
    SortKey { key: "id", label: "Batch" },
    SortKey { key: "status", label: "Status" },
    SortKey { key: "created", label: "Built" },
    SortKey { key: "items", label: "Items" },
    SortKey { key: "net", label: "Net" },
];

/// Which batches the batch list selects, from its query string.
#[derive(Clone)]
struct BatchSelection {
    search: Option<String>,
    id: Option<i64>,
    status: Option<BatchStatus>,
    rail: Option<Rail>,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    order: Order,
}

impl BatchSelection {
    fn of(q: &ListQuery) -> AppResult<Self> {
        let (from, to) = q.range()?;
        Ok(Self {
            search: q.search(),
            id: q.search_id(),
            status: filter_choice("status", &q.status, BatchStatus::parse)?,
            rail: filter_choice("rail", &q.rail, Rail::parse)?,
            from,
            to,
            // Newest first unless a header says otherwise.
            order: q.order(&BATCH_SORTS, true)?,
        })
    }
}

/// Batches matching `f`, one page after batch `after` in the chosen order. A search
/// finds a batch by its number or by the name or email of a contributor it pays; the
/// rail filter keeps batches paying someone on that rail.
fn batch_rows(conn: &mut DbConn, f: &BatchSelection, after: Option<i64>, limit: i64) -> AppResult<Vec<BatchRow>> {
    let mut query = payout_batches::table.select(BatchRow::as_select()).into_boxed();
    if let Some(text) = &f.search {
        let people = users::table.filter(crate::person_like!(text)).select(users::id);
        let paying =
            payout_items::table.filter(payout_items::contributor_id.eq_any(people)).select(payout_items::batch_id);
        query = match f.id {
            Some(id) => query.filter(payout_batches::id.eq_any(paying).or(payout_batches::id.eq(id))),
            None => query.filter(payout_batches::id.eq_any(paying)),
        };
    }
    if let Some(status) = f.status {
        query = query.filter(payout_batches::status.eq(status.as_str()));
    }
    if let Some(rail) = f.rail {
        let on_rail = payout_items::table.filter(payout_items::rail.eq(rail.as_str())).select(payout_items::batch_id);
        query = query.filter(payout_batches::id.eq_any(on_rail));
    }
    if let Some(from) = f.from {
        query = query.filter(payout_batches::created_at.ge(from));
    }
    if let Some(to) = f.to {
        query = query.filter(payout_batches::created_at.lt(to));
    }
    let (t, id, desc) = (payout_batches::table, payout_batches::id, f.order.desc);
    match f.order.key {
        "status" => crate::keyset_after!(query, conn, t, payout_batches::status, id, String, after, desc),
        "created" => crate::keyset_after!(query, conn, t, payout_batches::created_at, id, NaiveDateTime, after, desc),
        "items" => crate::keyset_after!(query, conn, t, payout_batches::item_count, id, i64, after, desc),
        "net" => crate::keyset_after!(query, conn, t, payout_batches::net_cents, id, i64, after, desc),
        _ => crate::keyset_after!(query, conn, t, id, id, i64, after, desc),
    }
    Ok(query.limit(limit).load(conn)?)
}

#[derive(Template)]
#[template(path = "console/batches.html")]
struct BatchesPage {
    layout: Layout,
    batches: Vec<BatchLine>,
    preview: Preview,
    /// A fresh idempotency key: submitting the form twice builds one batch.
    key: String,
    statuses: Vec<(&'static str, bool)>,
    rails: Vec<(&'static str, bool)>,
    nav: ListNav,
}

/// `/console/finance/batches`: the preview of a batch built now, the build form, and
/// the batches: search by number or by a contributor paid (name, email), filter by
/// status, rail and the day built, sort by any column, 50 a page; `format=csv`
/// downloads every match.
pub async fn batches(st: web::Data<AppState>, user: Console<Finance>, q: web::Query<ListQuery>) -> PageResult {
    let q = q.into_inner();
    let selection = BatchSelection::of(&q)?;
    if q.csv()? {
        let state = st.clone();
        let header = [
            "id",
            "status",
            "built_at",
            "built_by",
            "approved_by",
            "items",
            "gross_cents",
            "withheld_cents",
            "net_cents",
            "note",
        ];
        return Ok(stream_csv("payout-batches.csv", &header, move |after, limit| {
            let rows = state.db.read_sync(|c| batch_rows(c, &selection, after, limit))?;
            let mut ids: Vec<i64> = rows.iter().flat_map(|b| [Some(b.created_by), b.approved_by]).flatten().collect();
            ids.sort_unstable();
            ids.dedup();
            let people = people_of(&state, ids)?;
            let next = next_of(&rows, limit, |b| b.id);
            let cells = rows
                .into_iter()
                .map(|b| {
                    vec![
                        b.id.to_string(),
                        b.status.to_string(),
                        crate::clock::rfc3339(b.created_at),
                        staff_name(&people, b.created_by),
                        b.approved_by.map(|u| staff_name(&people, u)).unwrap_or_default(),
                        b.item_count.to_string(),
                        b.gross_cents.to_string(),
                        b.withheld_cents.to_string(),
                        b.net_cents.to_string(),
                        b.note,
                    ]
                })
                .collect();
            Ok((cells, next))
        })
        .await?);
    }
    let preview = load_preview(&st).await?;
    let cursor = q.cursor()?;
    let (state, f) = (st.clone(), selection.clone());
    let rows = crate::blocking(move || state.db.read_sync(|c| batch_rows(c, &f, cursor, PAGE))).await?;
    let next = next_of(&rows, PAGE, |b| b.id);
    render(&BatchesPage {
        layout: Layout::new(&user, "batches", q.notice.as_deref()),
        batches: rows
            .into_iter()
            .map(|b| BatchLine {
                id: b.id,
                status: b.status.to_string(),
                created: when(&b.created_at),
                items: b.item_count,
                net: dollars(b.net_cents),
                note: b.note,
            })
            .collect(),
        preview,
        key: random_token(),
        statuses: BatchStatus::ALL.iter().map(|s| (s.as_str(), selection.status == Some(*s))).collect(),
        rails: Rail::ALL.iter().map(|r| (r.as_str(), selection.rail == Some(*r))).collect(),
        nav: q.nav(BATCHES_BASE, &BATCH_SORTS, selection.order, next),
    })
}

#[derive(Deserialize)]
pub struct BuildForm {
    idempotency_key: String,
    #[serde(default)]
    note: String,
}

pub async fn build(st: web::Data<AppState>, user: Console<Finance>, form: web::Form<BuildForm>) -> PageResult {
    let form = form.into_inner();
    if form.idempotency_key.is_empty() || form.idempotency_key.len() > 200 {
        return Err(AppError::invalid(ProblemCode::IdempotencyKeyRequired, "reload the page and build again").into());
    }
    let state = st.clone();
    let (view, _) = crate::blocking(move || {
        payouts::build_batch(&state, &user.ctx, user.id, &form.idempotency_key, &BuildRequest { note: form.note })
    })
    .await?;
    see_other(&format!("/console/finance/batches/{}", view.batch.id), "built")
}

struct ItemLine {
    id: i64,
    contributor_id: i64,
    person: String,
    email: String,
    rail: String,
    destination: String,
    gross: String,
    withheld: String,
    net: String,
    status: String,
}

struct ExportLine {
    format: crate::payouts::exports::Format,
    part: i32,
    items: i64,
    bytes: i64,
    sha256: String,
    at: String,
    by: String,
}

#[derive(Template)]
#[template(path = "console/batch.html")]
struct BatchPage {
    layout: Layout,
    id: i64,
    status: String,
    note: String,
    created: String,
    created_by: String,
    approved: String,
    approved_by: String,
    gross: String,
    withheld: String,
    net: String,
    items_total: i64,
    rails: Vec<RailLine>,
    items: Vec<ItemLine>,
    item_statuses: Vec<(&'static str, bool)>,
    item_rails: Vec<(&'static str, bool)>,
    exports: Vec<ExportLine>,
    formats: Vec<(&'static str, &'static str)>,
    settlement: Option<SettlementSummary>,
    nav: ListNav,
}

struct SettlementSummary {
    applied: usize,
    unchanged: usize,
    conflicts: usize,
    rejected: usize,
    results: Vec<(i64, String, String)>,
}

/// A serde enum's wire name, for display.
fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|s| s.as_str().map(str::to_string)).unwrap_or_default()
}

impl From<payouts::SettlementReport> for SettlementSummary {
    fn from(r: payouts::SettlementReport) -> Self {
        Self {
            applied: r.applied,
            unchanged: r.unchanged,
            conflicts: r.conflicts,
            rejected: r.rejected,
            results: r
                .results
                .into_iter()
                .map(|l| (l.item_id, wire(&l.outcome), l.detail.unwrap_or_default()))
                .collect(),
        }
    }
}

/// Name and email of each person, by id.
fn people_of(st: &AppState, ids: Vec<i64>) -> crate::error::AppResult<HashMap<i64, (String, String)>> {
    st.db.read_sync(|c| {
        Ok(crate::auth::service::find_users(c, &ids)?.into_iter().map(|u| (u.id, (u.full_name, u.email))).collect())
    })
}

fn staff_name(people: &HashMap<i64, (String, String)>, id: i64) -> String {
    people.get(&id).map(|(n, e)| format!("{n} ({e})")).unwrap_or_else(|| format!("staff #{id}"))
}

const ITEM_SORTS: [SortKey; 5] = [
    SortKey { key: "id", label: "Item" },
    SortKey { key: "person", label: "Contributor" },
    SortKey { key: "rail", label: "Rail" },
    SortKey { key: "net", label: "Net" },
    SortKey { key: "status", label: "Status" },
];

/// Which items of a batch its page selects, from the query string.
#[derive(Clone)]
struct ItemSelection {
    batch: i64,
    search: Option<String>,
    id: Option<i64>,
    status: Option<ItemStatus>,
    rail: Option<Rail>,
    order: Order,
}

impl ItemSelection {
    fn of(batch: i64, q: &ListQuery) -> AppResult<Self> {
        Ok(Self {
            batch,
            search: q.search(),
            id: q.search_id(),
            status: filter_choice("status", &q.status, ItemStatus::parse)?,
            rail: filter_choice("rail", &q.rail, Rail::parse)?,
            order: q.order(&ITEM_SORTS, false)?,
        })
    }
}

/// An item with its masked destination and the contributor's name and email.
type ItemWithPerson = (ItemRow, String, String, String);

/// Items of a batch matching `f` (search: item number, contributor id, name or email),
/// one page after item `after` in the chosen order.
fn item_rows(conn: &mut DbConn, f: &ItemSelection, after: Option<i64>, limit: i64) -> AppResult<Vec<ItemWithPerson>> {
    let mut query = payout_items::table
        .inner_join(payout_methods::table)
        .inner_join(users::table)
        .filter(payout_items::batch_id.eq(f.batch))
        .select((ItemRow::as_select(), payout_methods::masked, users::full_name, users::email))
        .into_boxed();
    if let Some(text) = &f.search {
        let by_person = crate::person_like!(text);
        query = match f.id {
            Some(id) => query.filter(by_person.or(payout_items::id.eq(id)).or(payout_items::contributor_id.eq(id))),
            None => query.filter(by_person),
        };
    }
    if let Some(status) = f.status {
        query = query.filter(payout_items::status.eq(status.as_str()));
    }
    if let Some(rail) = f.rail {
        query = query.filter(payout_items::rail.eq(rail.as_str()));
    }
    let (t, id, desc) = (payout_items::table, payout_items::id, f.order.desc);
    match f.order.key {
        "person" => {
            let with_people = payout_items::table.inner_join(users::table);
            crate::keyset_after!(query, conn, with_people, users::full_name, id, String, after, desc)
        }
        "rail" => crate::keyset_after!(query, conn, t, payout_items::rail, id, String, after, desc),
        "net" => crate::keyset_after!(query, conn, t, payout_items::net_cents, id, i64, after, desc),
        "status" => crate::keyset_after!(query, conn, t, payout_items::status, id, String, after, desc),
        _ => crate::keyset_after!(query, conn, t, id, id, i64, after, desc),
    }
    Ok(query.limit(limit).load(conn)?)
}

/// The items of a batch as CSV: every item the filters select, in their order.
async fn batch_items_csv(st: &web::Data<AppState>, f: ItemSelection) -> PageResult {
    let state = st.clone();
    let header = [
        "item_id",
        "contributor_id",
        "name",
        "email",
        "rail",
        "destination",
        "gross_cents",
        "withheld_cents",
        "net_cents",
        "status",
        "rail_reference",
        "reason",
    ];
    let name = format!("payout-batch-{}-items.csv", f.batch);
    Ok(stream_csv(&name, &header, move |after, limit| {
        let rows = state.db.read_sync(|c| item_rows(c, &f, after, limit))?;
        let next = next_of(&rows, limit, |r| r.0.id);
        let cells = rows
            .into_iter()
            .map(|(i, destination, name, email)| {
                vec![
                    i.id.to_string(),
                    i.contributor_id.to_string(),
                    name,
                    email,
                    i.rail.to_string(),
                    destination,
                    i.gross_cents.to_string(),
                    i.withheld_cents.to_string(),
                    i.net_cents.to_string(),
                    i.status.to_string(),
                    i.rail_reference.unwrap_or_default(),
                    i.reason.unwrap_or_default(),
                ]
            })
            .collect();
        Ok((cells, next))
    })
    .await?)
}

async fn batch_page(
    st: &web::Data<AppState>,
    user: &Console<Finance>,
    id: i64,
    q: ListQuery,
    settlement: Option<payouts::SettlementReport>,
) -> PageResult {
    let selection = ItemSelection::of(id, &q)?;
    let cursor = q.cursor()?;
    let (state, f) = (st.clone(), selection.clone());
    let (v, items, people) = crate::blocking(move || {
        // The batch, its totals and its files; its items are read below, filtered.
        let v = payouts::get_batch(&state, id, None, Some(1))?;
        let items = state.db.read_sync(|c| item_rows(c, &f, cursor, PAGE))?;
        let mut ids: Vec<i64> = vec![v.batch.created_by];
        ids.extend(v.batch.approved_by);
        ids.extend(v.exports.iter().map(|e| e.exported_by));
        ids.sort_unstable();
        ids.dedup();
        let people = people_of(&state, ids)?;
        Ok((v, items, people))
    })
    .await?;
    let base = format!("/console/finance/batches/{id}");
    let next = next_of(&items, PAGE, |i| i.0.id);
    let b = &v.batch;
    render(&BatchPage {
        layout: Layout::new(user, "batches", q.notice.as_deref()),
        id: b.id,
        status: b.status.to_string(),
        note: b.note.clone(),
        created: when(&b.created_at),
        created_by: staff_name(&people, b.created_by),
        approved: when_opt(&b.approved_at),
        approved_by: b.approved_by.map(|u| staff_name(&people, u)).unwrap_or_else(|| "—".into()),
        gross: dollars(b.gross_cents),
        withheld: dollars(b.withheld_cents),
        net: dollars(b.net_cents),
        items_total: b.item_count,
        rails: v
            .totals_by_rail
            .iter()
            .map(|r| RailLine { rail: r.rail.to_string(), items: r.items, total: dollars(r.net_cents) })
            .collect(),
        items: items
            .into_iter()
            .map(|(i, destination, person, email)| ItemLine {
                id: i.id,
                contributor_id: i.contributor_id,
                person,
                email,
                rail: i.rail.as_str().to_string(),
                destination,
                gross: dollars(i.gross_cents),
                withheld: dollars(i.withheld_cents),
                net: dollars(i.net_cents),
                status: i.status.to_string(),
            })
            .collect(),
        exports: v
            .exports
            .iter()
            .map(|e| ExportLine {
                format: e.format,
                part: e.part,
                items: e.item_count,
                bytes: e.byte_count,
                sha256: e.sha256.clone(),
                at: when(&e.exported_at),
                by: staff_name(&people, e.exported_by),
            })
            .collect(),
        // Only the formats of rails the batch pays: the others would have nothing to export.
        formats: [Format::Nacha, Format::PaypalCsv, Format::PaypalJson, Format::WiseCsv]
            .into_iter()
            .filter(|f| v.totals_by_rail.iter().any(|r| r.rail == format_rail(*f)))
            .map(|f| (f.as_str(), format_label(f)))
            .collect(),
        settlement: settlement.map(Into::into),
        item_statuses: ItemStatus::ALL.iter().map(|s| (s.as_str(), selection.status == Some(*s))).collect(),
        item_rails: Rail::ALL.iter().map(|r| (r.as_str(), selection.rail == Some(*r))).collect(),
        nav: q.nav(&base, &ITEM_SORTS, selection.order, next),
    })
}

fn format_rail(f: Format) -> Rail {
    match f {
        Format::Nacha => Rail::Ach,
        Format::PaypalCsv | Format::PaypalJson => Rail::Paypal,
        Format::WiseCsv => Rail::Wise,
    }
}

fn format_label(f: Format) -> &'static str {
    match f {
        Format::Nacha => "NACHA (ACH)",
        Format::PaypalCsv => "PayPal Payouts CSV",
        Format::PaypalJson => "PayPal Payouts JSON",
        Format::WiseCsv => "Wise batch CSV",
    }
}

/// A batch: its totals, files and actions, and its items searched (item number,
/// contributor id, name or email), filtered by status and rail, sorted by any column,
/// 50 a page; `format=csv` downloads every item the filters select.
pub async fn batch(
    st: web::Data<AppState>,
    user: Console<Finance>,
    id: web::Path<i64>,
    q: web::Query<ListQuery>,
) -> PageResult {
    let (id, q) = (id.into_inner(), q.into_inner());
    if q.csv()? {
        // A batch that does not exist is a 404, not an empty file.
        let state = st.clone();
        crate::blocking(move || state.db.read_sync(|c| payouts::batch_row(c, id))).await?;
        return batch_items_csv(&st, ItemSelection::of(id, &q)?).await;
    }
    batch_page(&st, &user, id, q, None).await
}

pub async fn approve(st: web::Data<AppState>, user: Console<Finance>, id: web::Path<i64>) -> PageResult {
    let (state, id) = (st.clone(), id.into_inner());
    crate::blocking(move || payouts::approve_batch(&state, &user.ctx, user.id, id)).await?;
    see_other(&format!("/console/finance/batches/{id}"), "approved")
}

pub async fn cancel(st: web::Data<AppState>, user: Console<Finance>, id: web::Path<i64>) -> PageResult {
    let (state, id) = (st.clone(), id.into_inner());
    crate::blocking(move || payouts::cancel_batch(&state, &user.ctx, user.id, id)).await?;
    see_other(&format!("/console/finance/batches/{id}"), "cancelled")
}

#[derive(Deserialize)]
pub struct ExportQuery {
    format: Format,
    part: Option<i64>,
}

/// Downloads an export exactly as the API does (the first one moves the batch to
/// `exported`); streamed in constant memory.
pub async fn export(
    st: web::Data<AppState>,
    user: Console<Finance>,
    id: web::Path<i64>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let (state, id, format, part) = (st.clone(), id.into_inner(), q.format, q.part.unwrap_or(1));
    let prepared =
        crate::blocking(move || crate::payouts::exports::prepare(&state, &user.ctx, user.id, id, format, part)).await?;
    Ok(crate::payouts::routes::stream_export(st, prepared).await?)
}

/// Applies a settlement CSV (`item_id,status,rail_reference,reason`) and shows what it did.
pub async fn settle(
    st: web::Data<AppState>,
    user: Console<Finance>,
    id: web::Path<i64>,
    payload: Multipart,
) -> PageResult {
    let id = id.into_inner();
    let form = crate::files::multipart::read_form(payload, st.config.operations.max_upload_bytes).await?;
    let file = form.files.get("file").ok_or_else(|| AppError::field("file", "required", "choose a settlement CSV"))?;
    let lines = crate::payouts::routes::parse_csv(&file.bytes)?;
    let (state, ctx, me) = (st.clone(), user.ctx.clone(), user.id);
    let report = crate::blocking(move || payouts::settle(&state, &ctx, me, id, lines)).await?;
    let q = ListQuery { notice: Some("settled".into()), ..Default::default() };
    batch_page(&st, &user, id, q, Some(report)).await
}

// ---------------------------------------------------------------- 1099-NEC

struct PayeeRow {
    user_id: i64,
    name: String,
    tin: String,
    reportable: String,
    withheld: String,
    form_due: bool,
    excluded: String,
}

#[derive(Template)]
#[template(path = "console/tax.html")]
struct TaxPage {
    layout: Layout,
    year: i64,
    problem: Option<String>,
    threshold: String,
    payees_count: usize,
    forms_due: usize,
    reportable: String,
    withheld: String,
    payees: Vec<PayeeRow>,
}

#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i64>,
    notice: Option<String>,
}

pub async fn tax(st: web::Data<AppState>, user: Console<Finance>, q: web::Query<YearQuery>) -> PageResult {
    use chrono::Datelike;
    let year = q.year.unwrap_or_else(|| i64::from(st.clock.now().year()) - 1);
    let state = st.clone();
    let report = crate::blocking(move || {
        state.db.read_sync(|c| {
            let tz = crate::settings::current(c, &state)?.payer_time_zone();
            filing::report(c, year, tz)
        })
    })
    .await;
    let layout = Layout::new(&user, "tax", q.notice.as_deref());
    let page = match report {
        Ok(r) => TaxPage {
            layout,
            year,
            problem: None,
            threshold: dollars(r.threshold_cents),
            payees_count: r.payees_count,
            forms_due: r.forms_due,
            reportable: dollars(r.totals.reportable_cents),
            withheld: dollars(r.totals.federal_withheld_cents),
            payees: r
                .payees
                .into_iter()
                .map(|p| PayeeRow {
                    user_id: p.user_id,
                    name: p.name,
                    tin: p.tin.unwrap_or_else(|| "missing".into()),
                    reportable: dollars(p.totals.reportable_cents),
                    withheld: dollars(p.totals.federal_withheld_cents),
                    form_due: p.form_due,
                    excluded: p.excluded_reason.unwrap_or_default(),
                })
                .collect(),
        },
        // No threshold configured for the year, say: show why instead of a bare error.
        Err(e @ (AppError::Conflict { .. } | AppError::Validation(_) | AppError::Invalid { .. })) => TaxPage {
            layout,
            year,
            problem: Some(e.public_detail()),
            threshold: "—".into(),
            payees_count: 0,
            forms_due: 0,
            reportable: dollars(0),
            withheld: dollars(0),
            payees: Vec::new(),
        },
        Err(e) => return Err(e.into()),
    };
    render(&page)
}

pub async fn issue(st: web::Data<AppState>, user: Console<Finance>, year: web::Path<i64>) -> PageResult {
    let (state, year) = (st.clone(), year.into_inner());
    crate::blocking(move || filing::issue(&state, &user.ctx, Some(user.id), year)).await?;
    see_other(&format!("/console/finance/tax?year={year}"), "issued")
}

#[derive(Deserialize)]
pub struct TaxExportQuery {
    format: ExportFormat,
    returns: Option<filing::Returns>,
    part: Option<usize>,
}

pub async fn tax_export(
    st: web::Data<AppState>,
    user: Console<Finance>,
    year: web::Path<i64>,
    q: web::Query<TaxExportQuery>,
) -> PageResult {
    let (state, year, format, part) = (st.clone(), year.into_inner(), q.format, q.part.unwrap_or(1));
    let returns = q.returns.unwrap_or_default();
    let export =
        crate::blocking(move || filing::export(&state, &user.ctx, user.id, year, format, returns, part)).await?;
    Ok(crate::tax::routes::export_response(year, format, returns, part, export))
}

// ---------------------------------------------------------------- trace

#[derive(Deserialize)]
pub struct TraceQuery {
    task_ref: Option<String>,
    item: Option<String>,
    cursor: Option<i64>,
    notice: Option<String>,
}

struct PortionLine {
    amount: String,
    item_id: Option<i64>,
    batch_id: Option<i64>,
    sent: String,
    files: String,
    status: String,
    rail_reference: String,
    paid_on: String,
    reopened_by: String,
}

struct TaskView {
    task_ref: String,
    contributor_id: i64,
    status: String,
    pay: String,
    approved: String,
    available_on: String,
    portions: Vec<PortionLine>,
}

struct CoveredView {
    kind: crate::ledger::model::TxKind,
    reference: String,
    task_ref: String,
    cents: String,
    credit: String,
    partial: bool,
}

struct ItemView {
    id: i64,
    batch_id: i64,
    status: String,
    gross: String,
    rail_reference: String,
    paid_on: String,
    files: String,
    lines: Vec<CoveredView>,
    next_cursor: Option<i64>,
}

#[derive(Template)]
#[template(path = "console/trace.html")]
struct TracePage {
    layout: Layout,
    task_ref: String,
    item_query: String,
    task: Option<TaskView>,
    item: Option<ItemView>,
}

fn files_of(link: &crate::payouts::trace::ItemLink) -> String {
    link.files
        .iter()
        .map(|f| format!("{} part {} ({})", f.format.as_str(), f.part, f.sha256))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Follows a task to the bank line that paid it, or lists an item's tasks, through the
/// same service calls as `GET /payouts/trace` and `GET /payout-items/{id}/tasks`.
pub async fn trace(st: web::Data<AppState>, user: Console<Finance>, q: web::Query<TraceQuery>) -> PageResult {
    let q = q.into_inner();
    let task_ref = q.task_ref.unwrap_or_default().trim().to_string();
    let item_query = q.item.unwrap_or_default().trim().to_string();
    let mut task = None;
    if !task_ref.is_empty() {
        let (state, r) = (st.clone(), task_ref.clone());
        let t = crate::blocking(move || crate::payouts::trace::trace_task(&state, &r)).await?;
        task = Some(TaskView {
            task_ref: t.task_ref,
            contributor_id: t.contributor_id,
            status: t.status.to_string(),
            pay: dollars(t.pay_cents),
            approved: when_opt(&t.approved_at),
            available_on: when_opt(&t.available_on),
            portions: t
                .portions
                .into_iter()
                .map(|p| PortionLine {
                    amount: dollars(p.cents),
                    item_id: p.item.as_ref().map(|i| i.item_id),
                    batch_id: p.item.as_ref().map(|i| i.batch_id),
                    sent: p.item.as_ref().map(|i| when_opt(&i.sent_at)).unwrap_or_else(|| "—".into()),
                    files: p.item.as_ref().map(files_of).unwrap_or_default(),
                    status: p
                        .item
                        .as_ref()
                        .map(|i| i.status.as_str().to_string())
                        .unwrap_or_else(|| "not in a payout".into()),
                    rail_reference: p.item.as_ref().and_then(|i| i.rail_reference.clone()).unwrap_or_default(),
                    paid_on: p.item.as_ref().and_then(|i| i.paid_on).map(|d| d.to_string()).unwrap_or_default(),
                    reopened_by: p.reopened_by.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
                })
                .collect(),
        });
    }
    let mut item = None;
    if !item_query.is_empty() {
        let id: i64 = item_query
            .parse()
            .map_err(|_| ConsoleError::App(AppError::field("item", "format", "a payout item number")))?;
        let (state, cursor) = (st.clone(), q.cursor);
        let page = crate::blocking(move || crate::payouts::trace::item_tasks(&state, id, cursor, Some(100))).await?;
        item = Some(ItemView {
            id: page.item.item_id,
            batch_id: page.item.batch_id,
            status: page.item.status.as_str().to_string(),
            gross: dollars(page.item.gross_cents),
            rail_reference: page.item.rail_reference.clone().unwrap_or_default(),
            paid_on: page.item.paid_on.map(|d| d.to_string()).unwrap_or_default(),
            files: files_of(&page.item),
            lines: page
                .lines
                .into_iter()
                .map(|l| CoveredView {
                    kind: l.kind,
                    reference: l.reference,
                    task_ref: l.task_ref.unwrap_or_default(),
                    cents: dollars(l.cents),
                    credit: dollars(l.credit_cents),
                    partial: l.partial,
                })
                .collect(),
            next_cursor: page.next_cursor,
        });
    }
    render(&TracePage { layout: Layout::new(&user, "trace", q.notice.as_deref()), task_ref, item_query, task, item })
}
