//! Rules and transactions of work records: bulk ingest, review, appeals, automatic
//! approval, hold release and the quality ladder. No HTTP here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::model::*;
use super::quality::{self, Level};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::model::{User, UserStatus};
use crate::auth::RequestCtx;
use crate::db::schema::{project_types, quality_standings, users, work_appeals, work_records};
use crate::db::DbConn;
use crate::decisions::{self, DecisionOutcome, DecisionSubject, NewDecision};
use crate::error::{AppError, AppResult, ProblemCode};
use crate::ledger::model::{AccountKind, AccountRef, TxKind};
use crate::ledger::money::{self, Cents, UnitKind};
use crate::ledger::service::{self as ledger, Posting};
use crate::notifications::{self, templates};
use crate::onboarding::eligibility::{self, VerifiedSpan};
use crate::onboarding::lifecycle::Transition;
use crate::qualifications::model::{ProjectTypeRow, RequiredQualification};
use crate::quality::rules as quality_rules;
use crate::quality::service::StandingGate;
use crate::review;
use crate::AppState;

/// Rows per multi-row INSERT / IN list: 13 columns × 500 stays far below SQLite's and
/// PostgreSQL's bind-parameter limits.
const CHUNK: usize = 500;

// ---------------------------------------------------------------- ingest

/// One completed task as the task platform reports it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestItem {
    #[serde(deserialize_with = "crate::wire::whole")]
    pub contributor_id: i64,
    #[serde(deserialize_with = "crate::wire::whole")]
    pub project_type_id: i64,
    /// The task platform's unique reference: ingest is idempotent on it.
    pub task_ref: String,
    pub unit_kind: UnitKind,
    /// Units, or minutes, as a decimal string (at most six decimals).
    pub quantity: String,
    /// USD per unit, or per hour for minutes, as a decimal string (at most six decimals).
    pub rate: String,
    /// When the work was done: RFC 3339 with an offset (`Z`, `+02:00`); a time without
    /// one is refused with a field error.
    #[schema(value_type = String, format = DateTime, example = "2026-11-30T04:05:55Z")]
    pub completed_at: String,
    /// Agreement with the consensus of the other annotators of the same item, in whole
    /// percent (0 to 100). Only for project types that declare `reports_consensus`.
    #[serde(default, deserialize_with = "crate::wire::whole_opt")]
    #[schema(minimum = 0, maximum = 100)]
    pub consensus_agreement_percent: Option<i32>,
    /// Score on a gold (known-answer) item, in whole percent (0 to 100; 100 when a
    /// right/wrong item was answered right). Only for project types that declare
    /// `reports_gold`.
    #[serde(default, deserialize_with = "crate::wire::whole_opt")]
    #[schema(minimum = 0, maximum = 100)]
    pub gold_score_percent: Option<i32>,
}

/// Quality signals are checked before anything is stored: a value out of range, or a
/// signal the project type does not report, refuses the whole request (422) with one
/// field error per offending value, since it means the sender misreads the contract.
fn signal_errors(items: &[IngestItem], reports: impl Fn(i64) -> Option<(bool, bool)>) -> Vec<crate::error::FieldError> {
    use crate::error::FieldError;
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let declared = reports(item.project_type_id);
        for (name, value, reported) in [
            ("consensus_agreement_percent", item.consensus_agreement_percent, declared.map(|d| d.0)),
            ("gold_score_percent", item.gold_score_percent, declared.map(|d| d.1)),
        ] {
            let Some(v) = value else { continue };
            let field = format!("records[{i}].{name}");
            if !(0..=100).contains(&v) {
                errors.push(FieldError::new(
                    &field,
                    "range",
                    format!("{name} is a whole percent from 0 to 100, not {v}"),
                ));
            } else if reported == Some(false) {
                errors.push(FieldError::new(
                    &field,
                    "not_reported",
                    format!("project type {} does not declare that it reports {name}", item.project_type_id),
                ));
            }
        }
    }
    errors
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = IngestItemStatus)]
pub enum ItemStatus {
    Created,
    Duplicate,
    Refused,
}

/// The outcome of one item, in request order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemResult {
    pub index: usize,
    pub task_ref: String,
    pub status: ItemStatus,
    /// The work record (new or already existing).
    pub id: Option<i64>,
    /// Why an item was refused: `unknown_contributor`; the eligibility rule's reasons at
    /// `completed_at` (`contributor_inactive`, `email_not_verified`,
    /// `work_authorization_not_verified`, `work_authorization_expired`); `not_qualified`,
    /// `unknown_project_type`, `standing_too_low` (the contributor's standing in the
    /// project type's domain when the work was done), `invalid_rate`, `invalid_quantity`,
    /// `invalid_task_ref`, `completed_in_future`, `amount_too_large`.
    pub code: Option<&'static str>,
    pub reason: Option<String>,
}

fn refuse(index: usize, task_ref: &str, code: &'static str, reason: impl Into<String>) -> ItemResult {
    ItemResult {
        index,
        task_ref: task_ref.to_string(),
        status: ItemStatus::Refused,
        id: None,
        code: Some(code),
        reason: Some(reason.into()),
    }
}

/// Every `completed_at`, read as the UTC instant it names. The whole request is refused
/// (422) with one field error per offending record when any is not RFC 3339 with an
/// offset: a time without a zone would be guessed, and eligibility turns on it.
pub fn completion_times(items: &[IngestItem]) -> Result<Vec<NaiveDateTime>, Vec<crate::error::FieldError>> {
    let mut times = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match crate::clock::parse_rfc3339(&item.completed_at) {
            Ok(t) => times.push(t),
            Err(e) => {
                let field = format!("records[{i}].completed_at");
                errors.push(crate::error::FieldError::new(&field, e.code(), e.message("completed_at")));
            }
        }
    }
    if errors.is_empty() {
        Ok(times)
    } else {
        Err(errors)
    }
}

/// What ingest reads once about the batch's contributors and project types, so each
/// item is checked without a query (but its qualifications, see [`check_item`]).
struct IngestFacts {
    now: NaiveDateTime,
    people: HashMap<i64, User>,
    spans: HashMap<i64, Vec<VerifiedSpan>>,
    projects: HashMap<i64, (Vec<RequiredQualification>, StandingGate)>,
    tiers: HashMap<(i64, String), Vec<quality_rules::TierEvent>>,
}

/// Why one item is refused: its stable code and a sentence.
type Refusal = (&'static str, String);

/// The rules one item must pass, in the order they are reported: its pay when it
/// passes. `qualified` answers whether the contributor holds a project type's required
/// qualifications (a query, cached by the caller).
fn check_item(
    item: &IngestItem,
    completed_at: NaiveDateTime,
    facts: &IngestFacts,
    qualified: &mut dyn FnMut(&IngestItem, &[RequiredQualification]) -> AppResult<bool>,
) -> AppResult<Result<Cents, Refusal>> {
    let refuse = |code: &'static str, reason: &str| Ok(Err((code, reason.to_string())));
    let task_ref = item.task_ref.trim();
    if task_ref.is_empty() || task_ref.len() > 200 {
        return refuse("invalid_task_ref", "task_ref must be 1 to 200 characters");
    }
    let Some(person) = facts.people.get(&item.contributor_id) else {
        return refuse("unknown_contributor", "no contributor has this id");
    };
    // The eligibility rule, at the time the work was done.
    let verified = facts.spans.get(&item.contributor_id).map(Vec::as_slice).unwrap_or_default();
    if let Err(block) = eligibility::may_work_at(person, verified, completed_at) {
        return refuse(block.code(), &block.explain());
    }
    let Some((required, gate)) = facts.projects.get(&item.project_type_id) else {
        return refuse("unknown_project_type", "no project type has this id");
    };
    if !qualified(item, required)? {
        return refuse("not_qualified", "the contributor does not hold the qualifications this project type requires");
    }
    if let Some((domain, needed)) = gate {
        let events = facts.tiers.get(&(item.contributor_id, domain.clone())).map(Vec::as_slice).unwrap_or_default();
        let held = quality_rules::tier_at(events, completed_at);
        if held < *needed {
            return Ok(Err((
                "standing_too_low",
                format!(
                    "the contributor's standing in {domain} was {} when the work was done; this project type needs {}",
                    held.as_str(),
                    needed.as_str()
                ),
            )));
        }
    }
    Ok(check_pay(item, completed_at, facts.now))
}

/// The item's own figures: rate and quantity, their product, and a completion time
/// not in the future (an hour of clock skew allowed).
fn check_pay(item: &IngestItem, completed_at: NaiveDateTime, now: NaiveDateTime) -> Result<Cents, Refusal> {
    let (Some(rate), Some(quantity)) = (money::parse_decimal(&item.rate), money::parse_decimal(&item.quantity)) else {
        let (code, what) = if money::parse_decimal(&item.rate).is_none() {
            ("invalid_rate", "rate")
        } else {
            ("invalid_quantity", "quantity")
        };
        return Err((code, format!("{what} must be a non-negative decimal string, six decimals at most")));
    };
    let pay = match money::pay(rate, quantity, item.unit_kind) {
        Ok(p) => p,
        Err(money::PayError::InvalidQuantity) => {
            return Err(("invalid_quantity", "quantity must be above zero".into()))
        }
        Err(_) => return Err(("amount_too_large", "rate × quantity is too large".into())),
    };
    if completed_at > now + Duration::hours(1) {
        return Err(("completed_in_future", "completed_at is in the future".into()));
    }
    Ok(pay)
}

/// The checks of a request that need no database: quality signals in range and every
/// `completed_at` RFC 3339 with an offset. Either the completion times (UTC), or every
/// field error of the request (422): nothing is stored.
pub fn validate_request(items: &[IngestItem]) -> Result<Vec<NaiveDateTime>, Vec<crate::error::FieldError>> {
    let mut errors = signal_errors(items, |_| None);
    match completion_times(items) {
        Ok(times) if errors.is_empty() => Ok(times),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.extend(e);
            Err(errors)
        }
    }
}

/// Reads what [`check_item`] needs about the request's contributors and project types,
/// in chunks; refuses the request (422) when it sends a quality signal a project type
/// does not declare.
fn load_facts(conn: &mut DbConn, now: NaiveDateTime, items: &[IngestItem]) -> AppResult<IngestFacts> {
    let contributor_ids: Vec<i64> =
        items.iter().map(|i| i.contributor_id).collect::<BTreeSet<_>>().into_iter().collect();
    let project_ids: Vec<i64> = items.iter().map(|i| i.project_type_id).collect::<BTreeSet<_>>().into_iter().collect();
    let mut facts = IngestFacts {
        now,
        people: HashMap::new(),
        spans: HashMap::new(),
        projects: HashMap::new(),
        tiers: HashMap::new(),
    };
    for chunk in contributor_ids.chunks(CHUNK) {
        let rows: Vec<User> = users::table.filter(users::id.eq_any(chunk)).select(User::as_select()).load(conn)?;
        facts.people.extend(rows.into_iter().map(|u| (u.id, u)));
        facts.spans.extend(eligibility::verified_spans_of(conn, crate::db::among::Among::Ids(chunk))?);
    }
    let mut reports: HashMap<i64, (bool, bool)> = HashMap::new();
    for chunk in project_ids.chunks(CHUNK) {
        let rows: Vec<ProjectTypeRow> = project_types::table
            .filter(project_types::id.eq_any(chunk))
            .select(ProjectTypeRow::as_select())
            .load(conn)?;
        for p in rows {
            reports.insert(p.id, (p.reports_consensus, p.reports_gold));
            facts.projects.insert(p.id, (p.required()?, crate::quality::service::gate_of(&p)?));
        }
    }
    let undeclared = signal_errors(items, |id| reports.get(&id).copied());
    if !undeclared.is_empty() {
        return Err(AppError::Validation(undeclared));
    }
    // Standing gates some project types: the tier in force when the work was done.
    if facts.projects.values().any(|(_, gate)| gate.is_some()) {
        facts.tiers = crate::quality::service::tier_events_of(conn, &contributor_ids)?;
    }
    Ok(facts)
}

/// What [`screen`] decided: `results[i]` is set for a refused or repeated item,
/// `accepted` lists the others with their pay, in request order.
struct Screened {
    results: Vec<Option<ItemResult>>,
    accepted: Vec<(usize, Cents)>,
}

/// Each item's verdict by the rules of [`check_item`] and, for those that pass, by their
/// place in the request (a `task_ref` repeated in it is a duplicate of the first). Pure
/// but for `qualified`.
fn screen(
    items: &[IngestItem],
    times: &[NaiveDateTime],
    facts: &IngestFacts,
    qualified: &mut dyn FnMut(&IngestItem, &[RequiredQualification]) -> AppResult<bool>,
) -> AppResult<Screened> {
    let mut results: Vec<Option<ItemResult>> = vec![None; items.len()];
    let mut accepted: Vec<(usize, Cents)> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let task_ref = item.task_ref.trim();
        let pay = match check_item(item, times[index], facts, qualified)? {
            Ok(pay) => pay,
            Err((code, reason)) => {
                results[index] = Some(refuse(index, task_ref, code, reason));
                continue;
            }
        };
        if seen.insert(task_ref, index).is_some() {
            results[index] = Some(ItemResult {
                index,
                task_ref: task_ref.to_string(),
                status: ItemStatus::Duplicate,
                id: None,
                code: Some("repeated_in_batch"),
                reason: Some("the same task_ref appears earlier in this batch".into()),
            });
            continue;
        }
        accepted.push((index, pay));
    }
    Ok(Screened { results, accepted })
}

/// The task references of `refs` already stored, with their record ids.
fn stored_task_refs(conn: &mut DbConn, refs: &[&str]) -> AppResult<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in refs.chunks(CHUNK) {
        let rows: Vec<(String, i64)> = work_records::table
            .filter(work_records::task_ref.eq_any(chunk))
            .select((work_records::task_ref, work_records::id))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Inserts the records of `fresh` (index, pay) with multi-row INSERTs and sets their
/// `results`; returns the contributors credited.
#[allow(clippy::too_many_arguments)]
fn insert_records(
    conn: &mut DbConn,
    now: NaiveDateTime,
    review_window: Duration,
    finance_id: i64,
    items: &[IngestItem],
    times: &[NaiveDateTime],
    fresh: &[(usize, Cents)],
    results: &mut [Option<ItemResult>],
) -> AppResult<BTreeSet<i64>> {
    let mut credited = BTreeSet::new();
    for chunk in fresh.chunks(CHUNK) {
        let rows: Vec<NewWorkRecordRow> = chunk
            .iter()
            .map(|(i, pay)| {
                let item = &items[*i];
                credited.insert(item.contributor_id);
                NewWorkRecordRow {
                    contributor_id: item.contributor_id,
                    project_type_id: item.project_type_id,
                    task_ref: item.task_ref.trim(),
                    unit_kind: item.unit_kind,
                    // The normalised decimals: the rate applied is locked on the record.
                    quantity: money::parse_decimal(&item.quantity).unwrap_or_default().to_string(),
                    rate: money::parse_decimal(&item.rate).unwrap_or_default().to_string(),
                    pay_cents: pay.0,
                    completed_at: times[*i],
                    ingested_at: now,
                    ingested_by: finance_id,
                    status: WorkStatus::Pending,
                    review_due_at: now + review_window,
                    consensus_agreement_percent: item.consensus_agreement_percent,
                    gold_score_percent: item.gold_score_percent,
                }
            })
            .collect();
        // Multi-row INSERT is not offered through the MultiConnection; the same
        // statement runs on the concrete connection of either backend.
        let insert = diesel::insert_into(work_records::table).values(&rows);
        match conn {
            DbConn::Postgresql(c) => insert.execute(c)?,
            DbConn::Sqlite(c) => insert.execute(c)?,
        };
        let refs: Vec<&str> = rows.iter().map(|r| r.task_ref).collect();
        let ids = stored_task_refs(conn, &refs)?;
        for (i, _) in chunk {
            let task_ref = items[*i].task_ref.trim();
            results[*i] = Some(ItemResult {
                index: *i,
                task_ref: task_ref.to_string(),
                status: ItemStatus::Created,
                id: ids.get(task_ref).copied(),
                code: None,
                reason: None,
            });
        }
    }
    Ok(credited)
}

/// Ingests a batch in one transaction: validated item by item, duplicates (already
/// stored, or repeated in the batch) reported, valid items inserted with multi-row
/// INSERTs. The task reference's UNIQUE constraint is the backstop for concurrent ingests.
pub fn ingest(st: &AppState, ctx: &RequestCtx, finance_id: i64, items: Vec<IngestItem>) -> AppResult<Vec<ItemResult>> {
    let times = validate_request(&items).map_err(AppError::Validation)?;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let review_window = crate::settings::current(conn, st)?.review_window();
        let facts = load_facts(conn, now, &items)?;
        let mut qualified: HashMap<(i64, i64), bool> = HashMap::new();
        let mut holds = |item: &IngestItem, required: &[RequiredQualification]| -> AppResult<bool> {
            let key = (item.contributor_id, item.project_type_id);
            if let Some(ok) = qualified.get(&key) {
                return Ok(*ok);
            }
            let mut ok = true;
            for r in required {
                ok &= crate::qualifications::service::holds_qualification(
                    conn,
                    now,
                    item.contributor_id,
                    &r.domain,
                    r.tier,
                )?;
            }
            qualified.insert(key, ok);
            Ok(ok)
        };
        let Screened { mut results, accepted } = screen(&items, &times, &facts, &mut holds)?;

        // Task references already stored: duplicates, reported with their record id.
        let refs: Vec<&str> = accepted.iter().map(|(i, _)| items[*i].task_ref.trim()).collect();
        let existing = stored_task_refs(conn, &refs)?;
        let mut fresh = Vec::with_capacity(accepted.len());
        for (index, pay) in accepted {
            let task_ref = items[index].task_ref.trim();
            match existing.get(task_ref) {
                Some(id) => {
                    results[index] = Some(ItemResult {
                        index,
                        task_ref: task_ref.to_string(),
                        status: ItemStatus::Duplicate,
                        id: Some(*id),
                        code: Some("already_ingested"),
                        reason: Some("a work record with this task_ref exists".into()),
                    })
                }
                None => fresh.push((index, pay)),
            }
        }

        let credited = insert_records(conn, now, review_window, finance_id, &items, &times, &fresh, &mut results)?;
        ledger::ensure_contributor_accounts_many(conn, now, &credited.iter().copied().collect::<Vec<_>>())?;
        let results: Vec<ItemResult> = results.into_iter().flatten().collect();
        let count = |s: ItemStatus| results.iter().filter(|r| r.status == s).count();
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(finance_id),
                action: AuditAction::WorkRecordsIngested,
                subject_type: AuditSubject::WorkRecords,
                subject_id: None,
                summary: json!({"after": {"items": results.len(), "created": count(ItemStatus::Created),
                    "duplicates": count(ItemStatus::Duplicate), "refused": count(ItemStatus::Refused)}}),
            },
        )?;
        Ok(results)
    })
}

// ---------------------------------------------------------------- review

pub fn record_row(conn: &mut DbConn, id: i64) -> AppResult<WorkRecordRow> {
    Ok(work_records::table.find(id).select(WorkRecordRow::as_select()).first(conn)?)
}

pub fn appeal_row(conn: &mut DbConn, id: i64) -> AppResult<AppealRow> {
    Ok(work_appeals::table.find(id).select(AppealRow::as_select()).first(conn)?)
}

/// Records awaiting review, oldest first (keyset on the id, which grows with ingest time).
pub fn review_queue(st: &AppState, after: Option<i64>, limit: Option<i64>) -> AppResult<Vec<WorkRecordRow>> {
    st.db.read_sync(|conn| {
        Ok(work_records::table
            .filter(work_records::status.eq(WorkStatus::Pending.as_str()))
            .filter(work_records::id.gt(after.unwrap_or(0)))
            .order(work_records::id.asc())
            .limit(crate::db::page_limit(limit))
            .select(WorkRecordRow::as_select())
            .load(conn)?)
    })
}

/// Claims a record for review ([`review::claim`] on [`super::queue::WorkRecords`]).
pub fn claim(st: &AppState, ctx: &RequestCtx, reviewer_id: i64, id: i64) -> AppResult<WorkRecordRow> {
    review::claim(st, ctx, &super::queue::WorkRecords, reviewer_id, id)?;
    st.db.read_sync(|conn| record_row(conn, id))
}

crate::text_enum! {
    /// A reviewer's decision on a work record.
    pub enum Verdict {
        Approve = "approve",
        Reject = "reject",
    }
}

pub struct ReviewDecision {
    pub verdict: Verdict,
    pub reason_code: String,
    pub note: String,
    pub snapshot_ref: Option<String>,
}

/// Books approved work: expense → held, once per record (reference `work_record:{id}`).
fn book_approval(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    record: &WorkRecordRow,
    by: Option<i64>,
) -> AppResult<()> {
    if record.pay_cents == 0 {
        return Ok(());
    }
    let amount = Cents(record.pay_cents);
    ledger::post(
        conn,
        now,
        ctx,
        Posting {
            kind: TxKind::WorkApproved,
            reference: format!("work_record:{}", record.id),
            memo: format!("task {} approved", record.task_ref),
            contributor_id: Some(record.contributor_id),
            created_by: by,
            legs: vec![
                (AccountRef::Platform(AccountKind::Expense), -amount),
                (AccountRef::Contributor(record.contributor_id, AccountKind::Held), amount),
            ],
        },
    )?;
    Ok(())
}

fn email_person<E: notifications::templates::Email>(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: i64,
    key: &str,
    build: impl FnOnce(String) -> E,
) -> AppResult<()> {
    let user = crate::auth::service::find_user(conn, user_id)?;
    notifications::enqueue(conn, now, &user.email, key, &build(user.full_name))
}

/// The claimant approves or rejects a record. Approval books expense → held; rejection
/// opens the appeal window. Both are emailed and recorded as decisions.
pub fn decide(
    st: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    id: i64,
    d: ReviewDecision,
) -> AppResult<WorkRecordRow> {
    let d = checked(d)?;
    st.db.tx_sync(|conn| record_decision(conn, st, ctx, reviewer_id, id, &d, false))
}

/// What a bulk approval did: the records approved, and each refused with the reason.
#[derive(Debug, Default)]
pub struct BulkApproval {
    pub approved: Vec<i64>,
    pub refused: Vec<(i64, AppError)>,
}

/// The most records one bulk approval takes.
pub const BULK_MAX: usize = 200;

/// Approves many pending records for one reviewer, each exactly as a single approval
/// and in its own transaction: the claim rules of [`super::queue::WorkRecords`] (not
/// their own work, still pending), the claim's conditional UPDATE (refused while another
/// reviewer holds it), then the decision with its ledger entries, decision record and
/// email. Each approved record gets one audit record, the decision (`"bulk": true` in
/// its summary): the claim taken for it in the same transaction is not audited apart.
/// A refusal of one record leaves the others; the reason code and note are checked once.
pub fn approve_in_bulk(
    st: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    ids: &[i64],
    reason_code: &str,
    note: &str,
) -> AppResult<BulkApproval> {
    if ids.is_empty() {
        return Err(AppError::field("ids", "required", "tick at least one work record"));
    }
    if ids.len() > BULK_MAX {
        return Err(AppError::field("ids", "length", format!("at most {BULK_MAX} records at a time")));
    }
    let d = checked(ReviewDecision {
        verdict: Verdict::Approve,
        reason_code: reason_code.to_string(),
        note: note.to_string(),
        snapshot_ref: None,
    })?;
    let mut out = BulkApproval::default();
    for &id in ids {
        let outcome = st.db.tx_sync(|conn| {
            let now = st.clock.now();
            let until = review::claim_until(st, now);
            let taken = review::ReviewQueue::take_claim(&super::queue::WorkRecords, conn, id, reviewer_id, now, until)?;
            if taken.rows != 1 {
                return Err(review::claimed_by_other(record_row(conn, id)?.claim_expires_at));
            }
            record_decision(conn, st, ctx, reviewer_id, id, &d, true)
        });
        match outcome {
            Ok(_) => out.approved.push(id),
            Err(e) => out.refused.push((id, e)),
        }
    }
    Ok(out)
}

/// A decision's reason code, note and snapshot reference, checked.
fn checked(d: ReviewDecision) -> AppResult<ReviewDecision> {
    Ok(ReviewDecision {
        reason_code: review::free_reason_code(&d.reason_code)?,
        // A rejection is explained to the contributor, who may appeal it.
        note: review::note(&d.note, d.verdict == Verdict::Reject)?,
        snapshot_ref: match d.snapshot_ref.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
            Some(s) if s.chars().count() > 500 => {
                return Err(AppError::field("snapshot_ref", "length", "at most 500 characters"))
            }
            other => other,
        },
        ..d
    })
}

/// Records a checked decision of the claim holder, in the caller's transaction: the
/// record, the ledger, one audit record (`bulk` says it was part of a bulk approval),
/// the decision in the contributor's history and the email.
fn record_decision(
    conn: &mut DbConn,
    st: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    id: i64,
    d: &ReviewDecision,
    bulk: bool,
) -> AppResult<WorkRecordRow> {
    let now = st.clock.now();
    let settings = crate::settings::current(conn, st)?;
    let (hold, appeal_window) = (settings.hold_period(), settings.appeal_window());
    let record = record_row(conn, id)?;
    if record.contributor_id == reviewer_id {
        return Err(AppError::Forbidden("nobody reviews their own work".into()));
    }
    if record.status() != WorkStatus::Pending {
        return Err(AppError::conflict(ProblemCode::AlreadyDecided, "this work record is already decided"));
    }
    let outcome = d.verdict.status();
    write_decision(conn, now, reviewer_id, id, d, now + hold, now + appeal_window)?;
    let record = record_row(conn, id)?;
    if d.verdict == Verdict::Approve {
        book_approval(conn, now, ctx, &record, Some(reviewer_id))?;
    }
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id: Some(reviewer_id),
            action: AuditAction::WorkRecordDecided,
            subject_type: AuditSubject::WorkRecord,
            subject_id: Some(id.to_string()),
            summary: decision_summary(d, record.pay_cents, bulk),
        },
    )?;
    decisions::record(
        conn,
        now,
        NewDecision {
            user_id: record.contributor_id,
            subject_type: DecisionSubject::WorkRecord,
            subject_id: id.to_string(),
            outcome: match d.verdict {
                Verdict::Approve => DecisionOutcome::Approved,
                Verdict::Reject => DecisionOutcome::Rejected,
            },
            reason_code: &d.reason_code,
            note: &d.note,
            decided_by: Some(reviewer_id),
        },
    )?;
    let decided = Decided { id, task_ref: &record.task_ref, pay: Cents(record.pay_cents) };
    let (headline, next_steps) =
        decision_message(d.verdict, &decided, (now + hold).date(), (now + appeal_window).date());
    email_person(conn, now, record.contributor_id, &format!("work_decision:{id}"), |full_name| {
        templates::WorkDecision {
            full_name,
            subject: format!("Quality review of task {}: {}", record.task_ref, outcome.as_str()),
            headline,
            reason: d.reason_code.clone(),
            note: d.note.clone(),
            next_steps,
        }
    })?;
    if d.verdict == Verdict::Reject {
        refresh_standing(conn, st, now, ctx, record.contributor_id)?;
    }
    Ok(record)
}

impl Verdict {
    /// The status a record takes.
    fn status(self) -> WorkStatus {
        match self {
            Verdict::Approve => WorkStatus::Approved,
            Verdict::Reject => WorkStatus::Rejected,
        }
    }
}

/// Writes the decision on the record, conditional on the reviewer still holding the
/// claim on a pending record: an approval starts the hold (until `hold_until`), a
/// rejection the appeal window (until `appeal_deadline`). A lost race is
/// `already_decided`, or `claim_required` when the claim lapsed.
fn write_decision(
    conn: &mut DbConn,
    now: NaiveDateTime,
    reviewer_id: i64,
    id: i64,
    d: &ReviewDecision,
    hold_until: NaiveDateTime,
    appeal_deadline: NaiveDateTime,
) -> AppResult<()> {
    let target = work_records::table
        .filter(work_records::id.eq(id))
        .filter(work_records::status.eq(WorkStatus::Pending))
        .filter(work_records::claimed_by.eq(reviewer_id))
        .filter(work_records::claim_expires_at.ge(now));
    let common = (
        work_records::status.eq(d.verdict.status()),
        work_records::decided_by.eq(reviewer_id),
        work_records::decided_at.eq(now),
        work_records::decision_source.eq(crate::work::model::DecisionSource::Reviewer),
        work_records::reason_code.eq(&d.reason_code),
        work_records::note.eq(&d.note),
        work_records::snapshot_ref.eq(&d.snapshot_ref),
    );
    let changed = match d.verdict {
        Verdict::Approve => diesel::update(target)
            .set((common, work_records::approved_at.eq(now), work_records::hold_until.eq(hold_until)))
            .execute(conn)?,
        Verdict::Reject => {
            diesel::update(target).set((common, work_records::appeal_deadline.eq(appeal_deadline))).execute(conn)?
        }
    };
    if changed == 1 {
        return Ok(());
    }
    if record_row(conn, id)?.status() != WorkStatus::Pending {
        return Err(AppError::conflict(ProblemCode::AlreadyDecided, "this work record is already decided"));
    }
    Err(review::claim_required())
}

/// The audit summary of a reviewer's decision (`bulk` marks one of a bulk approval).
fn decision_summary(d: &ReviewDecision, pay_cents: i64, bulk: bool) -> serde_json::Value {
    let mut summary = json!({"before": {"status": "pending"}, "after": {"status": d.verdict.status().as_str(),
            "reason_code": d.reason_code, "note": d.note, "snapshot_ref": d.snapshot_ref, "pay_cents": pay_cents}});
    if bulk {
        summary["bulk"] = json!(true);
    }
    summary
}

/// The email's headline and next steps: an approval says until when the pay is held, a
/// rejection until when it may be appealed, and how.
fn decision_message(
    verdict: Verdict,
    record: &Decided,
    held_until: NaiveDate,
    appeal_by: NaiveDate,
) -> (String, String) {
    let Decided { id, task_ref, pay } = record;
    match verdict {
        Verdict::Approve => (
            format!("Your work on task {task_ref} was approved: {pay} is held until {held_until}."),
            "The amount becomes available for payout when the hold ends.".to_string(),
        ),
        Verdict::Reject => (
            format!("Your work on task {task_ref} was not approved."),
            format!(
                "You may appeal once until {appeal_by} with POST /api/v1/me/work-records/{id}/appeal; a different \
                 reviewer will decide."
            ),
        ),
    }
}

/// What the email of a decision names of its record.
struct Decided<'a> {
    id: i64,
    task_ref: &'a str,
    pay: Cents,
}

// ---------------------------------------------------------------- appeals

/// The contributor appeals a rejection, once, within the appeal window.
pub fn create_appeal(
    st: &AppState,
    ctx: &RequestCtx,
    user_id: i64,
    record_id: i64,
    message: &str,
) -> AppResult<AppealRow> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let record = record_row(conn, record_id)?;
        if record.contributor_id != user_id {
            return Err(AppError::NotFound);
        }
        if record.status() != WorkStatus::Rejected {
            return Err(AppError::conflict(ProblemCode::NotRejected, "only a rejected work record can be appealed"));
        }
        let taken: i64 =
            work_appeals::table.filter(work_appeals::work_record_id.eq(record_id)).count().get_result(conn)?;
        if taken > 0 {
            return Err(AppError::conflict(ProblemCode::AlreadyAppealed, "this rejection has already been appealed"));
        }
        if record.appeal_deadline.is_none_or(|deadline| now > deadline) {
            return Err(AppError::conflict_with(
                ProblemCode::AppealWindowClosed,
                "the appeal window of this rejection has closed",
                json!({"appeal_deadline": record.appeal_deadline}),
            ));
        }
        let id = diesel::insert_into(work_appeals::table)
            .values(NewAppealRow {
                work_record_id: record_id,
                contributor_id: user_id,
                rejected_by: record.decided_by,
                message,
                status: AppealStatus::Pending,
                created_at: now,
            })
            .returning(work_appeals::id)
            .get_result::<i64>(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user_id),
                action: AuditAction::WorkRecordAppealed,
                subject_type: AuditSubject::WorkRecord,
                subject_id: Some(record_id.to_string()),
                summary: json!({"after": {"appeal_id": id}}),
            },
        )?;
        appeal_row(conn, id)
    })
}

/// Appeals awaiting a decision, oldest first, with their records.
pub fn appeal_queue(
    st: &AppState,
    after: Option<i64>,
    limit: Option<i64>,
) -> AppResult<Vec<(AppealRow, WorkRecordRow)>> {
    st.db.read_sync(|conn| {
        Ok(work_appeals::table
            .inner_join(work_records::table)
            .filter(work_appeals::status.eq(crate::work::model::AppealStatus::Pending))
            .filter(work_appeals::id.gt(after.unwrap_or(0)))
            .order(work_appeals::id.asc())
            .limit(crate::db::page_limit(limit))
            .select((AppealRow::as_select(), WorkRecordRow::as_select()))
            .load(conn)?)
    })
}

pub(super) fn may_decide_appeal(appeal: &AppealRow, reviewer_id: i64) -> AppResult<()> {
    if appeal.contributor_id == reviewer_id {
        return Err(AppError::Forbidden("nobody reviews their own work".into()));
    }
    if appeal.rejected_by == Some(reviewer_id) {
        return Err(AppError::Forbidden(
            "an appeal is decided by a different reviewer than the one who rejected".into(),
        ));
    }
    Ok(())
}

/// Claims an appeal ([`review::claim`] on [`super::queue::Appeals`]).
pub fn claim_appeal(
    st: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    id: i64,
) -> AppResult<(AppealRow, WorkRecordRow)> {
    review::claim(st, ctx, &super::queue::Appeals, reviewer_id, id)?;
    st.db.read_sync(|conn| {
        let appeal = appeal_row(conn, id)?;
        let record = record_row(conn, appeal.work_record_id)?;
        Ok((appeal, record))
    })
}

crate::text_enum! {
    /// The decision on an appeal of a rejected work record.
    pub enum AppealVerdict {
        /// The rejection stands.
        Uphold = "uphold",
        /// The rejection is reversed: the work is approved and booked.
        Overturn = "overturn",
    }
}

/// The claimant (never the rejecting reviewer) upholds or overturns the rejection.
pub fn decide_appeal(
    st: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    id: i64,
    verdict: AppealVerdict,
    reason_code: &str,
    note: &str,
) -> AppResult<(AppealRow, WorkRecordRow)> {
    let (reason_code, note) = (&review::free_reason_code(reason_code)?, &review::note(note, true)?);
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let hold = crate::settings::current(conn, st)?.hold_period();
        let appeal = appeal_row(conn, id)?;
        may_decide_appeal(&appeal, reviewer_id)?;
        if appeal.status != AppealStatus::Pending {
            return Err(AppError::conflict(ProblemCode::AlreadyDecided, "this appeal is already decided"));
        }
        let outcome = match verdict {
            AppealVerdict::Uphold => DecisionOutcome::Upheld,
            AppealVerdict::Overturn => DecisionOutcome::Overturned,
        };
        let changed = diesel::update(
            work_appeals::table
                .filter(work_appeals::id.eq(id))
                .filter(work_appeals::status.eq(crate::work::model::AppealStatus::Pending))
                .filter(work_appeals::claimed_by.eq(reviewer_id))
                .filter(work_appeals::claim_expires_at.ge(now)),
        )
        .set((
            work_appeals::status.eq(outcome),
            work_appeals::decided_by.eq(reviewer_id),
            work_appeals::decided_at.eq(now),
            work_appeals::reason_code.eq(reason_code),
            work_appeals::note.eq(note),
        ))
        .execute(conn)?;
        if changed != 1 {
            return Err(review::claim_required());
        }
        if verdict == AppealVerdict::Overturn {
            overturn_rejection(conn, now, ctx, reviewer_id, appeal.work_record_id, now + hold)?;
        }
        let record = record_row(conn, appeal.work_record_id)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(reviewer_id),
                action: AuditAction::WorkAppealDecided,
                subject_type: AuditSubject::WorkAppeal,
                subject_id: Some(id.to_string()),
                summary: json!({"before": {"status": "pending"}, "after": {"status": outcome, "reason_code": reason_code,
                    "note": note, "work_record_id": record.id, "work_record_status": record.status}}),
            },
        )?;
        decisions::record(
            conn,
            now,
            NewDecision {
                user_id: appeal.contributor_id,
                subject_type: DecisionSubject::WorkAppeal,
                subject_id: id.to_string(),
                outcome,
                reason_code,
                note,
                decided_by: Some(reviewer_id),
            },
        )?;
        let decided = Decided { id: record.id, task_ref: &record.task_ref, pay: Cents(record.pay_cents) };
        let headline = appeal_headline(verdict, &decided, (now + hold).date());
        email_person(conn, now, appeal.contributor_id, &format!("appeal_outcome:{id}"), |full_name| {
            templates::AppealOutcome {
                full_name,
                subject: format!("Your appeal for task {}: {outcome}", record.task_ref),
                headline,
                reason: reason_code.to_string(),
                note: note.to_string(),
                next_steps: "Both reviewers' notes are in GET /api/v1/me/work-records.".into(),
            }
        })?;
        refresh_standing(conn, st, now, ctx, appeal.contributor_id)?;
        Ok((appeal_row(conn, id)?, record))
    })
}

/// Approves a rejected record on appeal and books it: held until `hold_until`. Refused
/// (`not_rejected`) when the record is no longer rejected.
fn overturn_rejection(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    reviewer_id: i64,
    record_id: i64,
    hold_until: NaiveDateTime,
) -> AppResult<()> {
    let flipped = diesel::update(
        work_records::table
            .filter(work_records::id.eq(record_id))
            .filter(work_records::status.eq(WorkStatus::Rejected)),
    )
    .set((
        work_records::status.eq(WorkStatus::Approved),
        work_records::decision_source.eq(crate::work::model::DecisionSource::Appeal),
        work_records::approved_at.eq(now),
        work_records::hold_until.eq(hold_until),
    ))
    .execute(conn)?;
    if flipped != 1 {
        return Err(AppError::conflict(ProblemCode::NotRejected, "the work record is no longer rejected"));
    }
    let record = record_row(conn, record_id)?;
    book_approval(conn, now, ctx, &record, Some(reviewer_id))
}

/// The headline of an appeal's email: the rejection stands, or the work is approved and
/// held until `held_until`.
fn appeal_headline(verdict: AppealVerdict, record: &Decided, held_until: NaiveDate) -> String {
    let Decided { task_ref, pay, .. } = record;
    match verdict {
        AppealVerdict::Uphold => format!("Your appeal for task {task_ref} was reviewed: the rejection stands."),
        AppealVerdict::Overturn => {
            format!(
                "Your appeal for task {task_ref} succeeded: the work is approved and {pay} is held until {held_until}."
            )
        }
    }
}

// ---------------------------------------------------------------- jobs

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct WorkJobReport {
    /// Records approved because the review window passed.
    pub auto_approved: usize,
    /// Approved records whose hold ended: held → available.
    pub holds_released: usize,
    /// Qualification test stipends credited.
    pub stipends_paid: usize,
}

/// Approves records not decided within the review window: per contributor, one
/// transaction approves their due records (each recorded as a decision) and queues ONE
/// digest email listing them (SPEC: no decision without a message).
pub fn auto_approve(st: &AppState) -> AppResult<usize> {
    let ctx = RequestCtx::system("job:auto_approve");
    let hold = st.settings()?.hold_period();
    let mut done = 0;
    loop {
        let now = st.clock.now();
        let due: Vec<(i64, i64)> = st.db.read_sync(|conn| {
            Ok(work_records::table
                .filter(work_records::status.eq(WorkStatus::Pending.as_str()))
                .filter(work_records::review_due_at.le(now))
                .order(work_records::id.asc())
                .limit(500)
                .select((work_records::contributor_id, work_records::id))
                .load(conn)?)
        })?;
        if due.is_empty() {
            return Ok(done);
        }
        let mut by_person: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (user, id) in due {
            by_person.entry(user).or_default().push(id);
        }
        for (user, ids) in by_person {
            done += st.db.tx_sync(|conn| auto_approve_person(conn, now, &ctx, hold, user, &ids))?;
        }
    }
}

fn auto_approve_person(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    hold: chrono::Duration,
    user: i64,
    ids: &[i64],
) -> AppResult<usize> {
    let mut approved = Vec::new();
    for &id in ids {
        let changed = diesel::update(
            work_records::table
                .filter(work_records::id.eq(id))
                .filter(work_records::status.eq(WorkStatus::Pending.as_str())),
        )
        .set((
            work_records::status.eq(WorkStatus::Approved.as_str()),
            work_records::decided_at.eq(now),
            work_records::decision_source.eq(crate::work::model::DecisionSource::Auto),
            work_records::reason_code.eq("review_window_elapsed"),
            work_records::approved_at.eq(now),
            work_records::hold_until.eq(now + hold),
        ))
        .execute(conn)?;
        if changed != 1 {
            continue;
        }
        let record = record_row(conn, id)?;
        book_approval(conn, now, ctx, &record, None)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: None,
                action: AuditAction::WorkRecordAutoApproved,
                subject_type: AuditSubject::WorkRecord,
                subject_id: Some(id.to_string()),
                summary: json!({"before": {"status": "pending"}, "after": {"status": "approved", "pay_cents": record.pay_cents}}),
            },
        )?;
        decisions::record(
            conn,
            now,
            NewDecision {
                user_id: record.contributor_id,
                subject_type: DecisionSubject::WorkRecord,
                subject_id: id.to_string(),
                outcome: DecisionOutcome::Approved,
                reason_code: "review_window_elapsed",
                note: "approved automatically: not reviewed within the review window",
                decided_by: None,
            },
        )?;
        approved.push(record);
    }
    let Some(first) = approved.first() else { return Ok(0) };
    // The lowest record id approved in this transaction names the digest: each record is
    // approved once, so a retried job never emails the same digest twice.
    let key = format!("work_auto_approved:{user}:{}", first.id);
    let total: i64 = approved.iter().map(|r| r.pay_cents).sum();
    let lines = approved
        .iter()
        .map(|r| notifications::templates::DigestLine {
            task_ref: r.task_ref.clone(),
            pay: crate::payouts::service::amount(r.pay_cents),
        })
        .collect();
    let count = approved.len();
    email_person(conn, now, user, &key, |full_name| notifications::templates::WorkAutoApproved {
        full_name,
        count,
        total: crate::payouts::service::amount(total),
        available_on: (now + hold).date().to_string(),
        lines,
    })?;
    Ok(count)
}

/// Moves approved earnings whose hold ended from `held` to `available`.
pub fn release_holds(st: &AppState) -> AppResult<usize> {
    let ctx = RequestCtx::system("job:release_holds");
    let mut done = 0;
    loop {
        let now = st.clock.now();
        let ids: Vec<i64> = st.db.read_sync(|conn| {
            Ok(work_records::table
                .filter(work_records::status.eq(WorkStatus::Approved.as_str()))
                .filter(work_records::released_at.is_null())
                .filter(work_records::hold_until.le(now))
                .order(work_records::id.asc())
                .limit(500)
                .select(work_records::id)
                .load(conn)?)
        })?;
        if ids.is_empty() {
            return Ok(done);
        }
        for id in ids {
            done += st.db.tx_sync(|conn| {
                let changed = diesel::update(
                    work_records::table.filter(work_records::id.eq(id)).filter(work_records::released_at.is_null()),
                )
                .set(work_records::released_at.eq(now))
                .execute(conn)?;
                if changed != 1 {
                    return Ok(0);
                }
                let record = record_row(conn, id)?;
                if record.pay_cents > 0 {
                    let amount = Cents(record.pay_cents);
                    ledger::post(
                        conn,
                        now,
                        &ctx,
                        Posting {
                            kind: TxKind::HoldReleased,
                            reference: format!("work_record:{id}"),
                            memo: format!("hold ended for task {}", record.task_ref),
                            contributor_id: Some(record.contributor_id),
                            created_by: None,
                            legs: vec![
                                (AccountRef::Contributor(record.contributor_id, AccountKind::Held), -amount),
                                (AccountRef::Contributor(record.contributor_id, AccountKind::Available), amount),
                            ],
                        },
                    )?;
                }
                Ok(1)
            })?;
        }
    }
}

pub fn run_jobs(st: &AppState) -> AppResult<WorkJobReport> {
    Ok(WorkJobReport {
        auto_approved: auto_approve(st)?,
        holds_released: release_holds(st)?,
        stipends_paid: ledger::pay_test_stipends(st)?,
    })
}

// ---------------------------------------------------------------- quality

/// A contributor's standing as they see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QualityView {
    pub level: Level,
    pub explanation: &'static str,
    /// Rejected share of the last `window` decided records, in percent.
    pub rejection_share_percent: i32,
    pub decided_count: i64,
    /// Agreement of the second reviewer with the first on appealed items, in percent.
    pub agreement_percent: Option<i32>,
    pub window: i64,
    pub min_decided: i64,
    pub warning_percent: i32,
    pub retraining_percent: i32,
    pub suspension_percent: i32,
}

fn compute_standing(conn: &mut DbConn, st: &AppState, user_id: i64) -> AppResult<QualityView> {
    let ladder = &crate::settings::current(conn, st)?.quality_ladder();
    let statuses: Vec<WorkStatus> = work_records::table
        .filter(work_records::contributor_id.eq(user_id))
        .filter(work_records::status.ne(WorkStatus::Pending))
        .order((work_records::decided_at.desc(), work_records::id.desc()))
        .limit(ladder.window)
        .select(work_records::status)
        .load(conn)?;
    let decided = statuses.len() as i64;
    let rejected = statuses.iter().filter(|s| **s == WorkStatus::Rejected).count() as i64;
    let appeals: Vec<AppealStatus> = work_appeals::table
        .filter(work_appeals::contributor_id.eq(user_id))
        .filter(work_appeals::status.ne(AppealStatus::Pending))
        .select(work_appeals::status)
        .load(conn)?;
    let upheld = appeals.iter().filter(|s| **s == AppealStatus::Upheld).count() as i64;
    let level = quality::level(ladder, rejected, decided);
    Ok(QualityView {
        level,
        explanation: level.explain(),
        rejection_share_percent: quality::rejection_percent(rejected, decided),
        decided_count: decided,
        agreement_percent: quality::agreement_percent(upheld, appeals.len() as i64),
        window: ladder.window,
        min_decided: ladder.min_decided,
        warning_percent: ladder.warning_percent,
        retraining_percent: ladder.retraining_percent,
        suspension_percent: ladder.suspension_percent,
    })
}

/// The account-wide ladder's view of a person (`GET /me/standing`). At the suspension
/// rung it shows the rung the ladder enforced: while domain standings were moved back to
/// entry level instead (docs/quality.md), that is retraining, not a suspension.
pub fn quality_of(st: &AppState, user_id: i64) -> AppResult<QualityView> {
    st.db.read_sync(|conn| {
        let mut view = compute_standing(conn, st, user_id)?;
        if view.level == Level::Suspension {
            let stored: Option<Level> =
                quality_standings::table.find(user_id).select(quality_standings::level).first(conn).optional()?;
            if let Some(stored) = stored.filter(|l| *l < Level::Suspension) {
                view.level = stored;
                view.explanation = stored.explain();
            }
        }
        Ok(view)
    })
}

/// Recomputes the standing after a decision; a step up the ladder is recorded, emailed
/// and enforced (suspension through the lifecycle). Steps down are recorded silently;
/// lifting a suspension is a staff decision.
fn refresh_standing(
    conn: &mut DbConn,
    st: &AppState,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    user_id: i64,
) -> AppResult<()> {
    let mut view = compute_standing(conn, st, user_id)?;
    if view.level == Level::Suspension {
        // Low standing moves a contributor back to entry-level work in their domains
        // before any account-wide step (docs/quality.md): the suspension waits while a
        // domain standing above entry level remains.
        let why = format!(
            "{}% of your last {} decided records were rejected (suspension of the whole account at {}%).",
            view.rejection_share_percent, view.decided_count, view.suspension_percent
        );
        if crate::quality::service::demote_before_account_step(conn, st, now, ctx, user_id, &why)? {
            view.level = Level::Retraining;
            view.explanation = Level::Retraining.explain();
        }
    }
    let before = store_standing(conn, now, user_id, &view)?;
    match step_up(before, view.level) {
        Some(outcome) => announce_step_up(conn, now, ctx, user_id, &view, before, outcome),
        None => Ok(()),
    }
}

/// Stores the contributor's standing; answers the level it had (`good` without a row:
/// every contributor starts there).
fn store_standing(conn: &mut DbConn, now: NaiveDateTime, user_id: i64, view: &QualityView) -> AppResult<Level> {
    let previous: Option<StandingRow> =
        quality_standings::table.find(user_id).select(StandingRow::as_select()).first(conn).optional()?;
    let row = StandingRow {
        user_id,
        level: view.level,
        rejection_share_percent: view.rejection_share_percent,
        decided_count: view.decided_count as i32,
        updated_at: now,
    };
    let before = previous.as_ref().map_or(Level::Good, |p| p.level);
    match previous {
        Some(_) => diesel::update(quality_standings::table.find(user_id)).set(&row).execute(conn)?,
        None => diesel::insert_into(quality_standings::table).values(&row).execute(conn)?,
    };
    Ok(before)
}

/// The decision a new level records: a step up the ladder is one; a step down (or none)
/// is recorded silently.
fn step_up(before: Level, after: Level) -> Option<DecisionOutcome> {
    if after <= before {
        return None;
    }
    match after {
        Level::Good => None,
        Level::Warning => Some(DecisionOutcome::Warning),
        Level::Retraining => Some(DecisionOutcome::Retraining),
        Level::Suspension => Some(DecisionOutcome::Suspension),
    }
}

/// A step up the ladder: recorded as a decision and audited, enforced (a suspension
/// through the lifecycle) and emailed.
fn announce_step_up(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    user_id: i64,
    view: &QualityView,
    before: Level,
    outcome: DecisionOutcome,
) -> AppResult<()> {
    let note = format!(
        "{}% of your last {} decided records were rejected (warning at {}%, retraining at {}%, suspension at {}%).",
        view.rejection_share_percent,
        view.decided_count,
        view.warning_percent,
        view.retraining_percent,
        view.suspension_percent
    );
    decisions::record(
        conn,
        now,
        NewDecision {
            user_id,
            subject_type: DecisionSubject::QualityStanding,
            subject_id: user_id.to_string(),
            outcome,
            reason_code: "rejection_share",
            note: &note,
            decided_by: None,
        },
    )?;
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id: None,
            action: AuditAction::QualityLevelChanged,
            subject_type: AuditSubject::User,
            subject_id: Some(user_id.to_string()),
            summary: json!({"before": before.as_str(), "after": view.level.as_str(), "rejection_share_percent": view.rejection_share_percent}),
        },
    )?;
    let user = crate::auth::service::find_user(conn, user_id)?;
    if view.level == Level::Suspension
        && matches!(user.status(), UserStatus::Active | UserStatus::AuthorizationVerified)
    {
        crate::onboarding::service::transition(
            conn,
            now,
            ctx,
            None,
            &user,
            Transition::Suspend,
            Some("quality: rejection share above the suspension threshold"),
            None,
        )?;
    }
    notifications::enqueue(
        conn,
        now,
        &user.email,
        &format!("quality_standing:{user_id}:{}:{}", view.level.as_str(), now.and_utc().timestamp()),
        &templates::QualityStanding {
            full_name: user.full_name.clone(),
            subject: format!("Your quality standing: {}", view.level.as_str()),
            headline: view.explanation.to_string(),
            reason: "rejection_share".into(),
            note,
            next_steps: "Your standing is shown in GET /api/v1/me/earnings.".into(),
        },
    )
}

// ---------------------------------------------------------------- contributor views

/// The contributor's records, newest first (keyset on the id), each with its appeal.
pub fn my_work_records(
    st: &AppState,
    user_id: i64,
    status: Option<WorkStatus>,
    before: Option<i64>,
    limit: Option<i64>,
) -> AppResult<Vec<(WorkRecordRow, Option<AppealRow>)>> {
    st.db.read_sync(|conn| {
        let mut q = work_records::table
            .left_join(work_appeals::table)
            .filter(work_records::contributor_id.eq(user_id))
            .select((WorkRecordRow::as_select(), Option::<AppealRow>::as_select()))
            .into_boxed();
        if let Some(s) = status {
            q = q.filter(work_records::status.eq(s));
        }
        if let Some(b) = before {
            q = q.filter(work_records::id.lt(b));
        }
        Ok(q.order(work_records::id.desc()).limit(crate::db::page_limit(limit)).load(conn)?)
    })
}

pub struct Earnings {
    pub balances: ledger::Balances,
    pub quality: QualityView,
    pub timeline: Vec<WorkRecordRow>,
    /// The payout stages of the timeline's tasks, by work record id.
    pub payments: HashMap<i64, crate::payouts::trace::TaskPayment>,
}

/// Balances, quality standing and the per-task timeline (newest first). `pending` is the
/// pay of records awaiting review: the ledger books work at approval, not at ingest.
pub fn earnings(st: &AppState, user_id: i64, before: Option<i64>, limit: Option<i64>) -> AppResult<Earnings> {
    st.db.read_sync(|conn| {
        let mut balances = ledger::balances_of(conn, user_id)?;
        let pending: Option<i64> = work_records::table
            .filter(work_records::contributor_id.eq(user_id))
            .filter(work_records::status.eq(WorkStatus::Pending.as_str()))
            .select(diesel::dsl::sql::<Nullable<BigInt>>("CAST(SUM(pay_cents) AS BIGINT)"))
            .first(conn)?;
        balances.pending = Cents(balances.pending.0 + pending.unwrap_or(0));
        let quality = compute_standing(conn, st, user_id)?;
        let mut q = work_records::table
            .filter(work_records::contributor_id.eq(user_id))
            .select(WorkRecordRow::as_select())
            .into_boxed();
        if let Some(b) = before {
            q = q.filter(work_records::id.lt(b));
        }
        let timeline: Vec<WorkRecordRow> =
            q.order(work_records::id.desc()).limit(crate::db::page_limit(limit)).load(conn)?;
        let released: Vec<(i64, i64)> =
            timeline.iter().filter(|r| r.released_at.is_some()).map(|r| (r.id, r.pay_cents)).collect();
        let payments = crate::payouts::trace::task_payments(st, conn, user_id, &released)?;
        Ok(Earnings { balances, quality, timeline, payments })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appeal_email_says_whether_the_rejection_stands() {
        let record = Decided { id: 7, task_ref: "t-9", pay: Cents(1_050) };
        let held = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        assert_eq!(
            appeal_headline(AppealVerdict::Uphold, &record, held),
            "Your appeal for task t-9 was reviewed: the rejection stands."
        );
        assert_eq!(
            appeal_headline(AppealVerdict::Overturn, &record, held),
            "Your appeal for task t-9 succeeded: the work is approved and $10.50 is held until 2026-06-10."
        );
    }

    #[test]
    fn only_a_step_up_the_ladder_is_a_decision() {
        assert_eq!(step_up(Level::Good, Level::Warning), Some(DecisionOutcome::Warning));
        assert_eq!(step_up(Level::Warning, Level::Suspension), Some(DecisionOutcome::Suspension));
        assert_eq!(step_up(Level::Good, Level::Retraining), Some(DecisionOutcome::Retraining));
        assert_eq!(step_up(Level::Retraining, Level::Retraining), None);
        assert_eq!(step_up(Level::Suspension, Level::Warning), None, "a step down is silent");
        assert_eq!(step_up(Level::Warning, Level::Good), None);
    }

    #[test]
    fn a_decision_email_says_until_when_and_what_next() {
        let record = Decided { id: 7, task_ref: "t-9", pay: Cents(1_050) };
        let (held, appeal) =
            (NaiveDate::from_ymd_opt(2026, 6, 10).unwrap(), NaiveDate::from_ymd_opt(2026, 6, 17).unwrap());
        let (headline, next) = decision_message(Verdict::Approve, &record, held, appeal);
        assert_eq!(headline, "Your work on task t-9 was approved: $10.50 is held until 2026-06-10.");
        assert!(next.contains("available for payout"), "{next}");
        let (headline, next) = decision_message(Verdict::Reject, &record, held, appeal);
        assert_eq!(headline, "Your work on task t-9 was not approved.");
        assert_eq!(
            next,
            "You may appeal once until 2026-06-17 with POST /api/v1/me/work-records/7/appeal; a different reviewer \
             will decide."
        );
    }

    fn at(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    fn item(completed_at: &str) -> IngestItem {
        IngestItem {
            contributor_id: 1,
            project_type_id: 7,
            task_ref: "t-1".into(),
            unit_kind: UnitKind::Units,
            quantity: "3".into(),
            rate: "0.50".into(),
            completed_at: completed_at.into(),
            consensus_agreement_percent: None,
            gold_score_percent: None,
        }
    }

    fn facts() -> IngestFacts {
        let person = User {
            id: 1,
            email: "a@example.com".into(),
            password_hash: None,
            full_name: "A".into(),
            status: UserStatus::Active,
            email_verified_at: Some(at("2026-01-01T00:00:00")),
            created_at: at("2026-01-01T00:00:00"),
            updated_at: at("2026-01-01T00:00:00"),
            status_reason: None,
            status_until: None,
            work_blocked_since: None,
        };
        IngestFacts {
            now: at("2026-11-30T12:00:00"),
            people: HashMap::from([(1, person)]),
            spans: HashMap::from([(
                1,
                vec![VerifiedSpan { verified_at: at("2026-02-01T00:00:00"), expires_on: None }],
            )]),
            projects: HashMap::from([(7, (Vec::new(), None))]),
            tiers: HashMap::new(),
        }
    }

    fn check(
        item: &IngestItem,
        completed_at: &str,
        facts: &IngestFacts,
        qualified: bool,
    ) -> Result<Cents, &'static str> {
        check_item(item, at(completed_at), facts, &mut |_, _| Ok(qualified)).unwrap().map_err(|(code, _)| code)
    }

    #[test]
    fn a_request_is_refused_whole_with_every_field_named() {
        let mut bad_signal = item("2026-11-30T04:05:55Z");
        bad_signal.gold_score_percent = Some(101);
        let items = [item("2026-11-30T04:05:55Z"), bad_signal, item("2026-11-30T04:05:55")];
        let errors = validate_request(&items).unwrap_err();
        let named: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(named, [("records[1].gold_score_percent", "range"), ("records[2].completed_at", "offset_required")]);
        let mut signal_only = item("2026-11-30T04:05:55Z");
        signal_only.consensus_agreement_percent = Some(-1);
        assert_eq!(validate_request(&[signal_only]).unwrap_err()[0].code, "range");
        assert_eq!(validate_request(&[item("2026-11-30T06:05:55+02:00")]), Ok(vec![at("2026-11-30T04:05:55")]));
    }

    #[test]
    fn screening_refuses_reports_repeats_and_accepts_in_request_order() {
        let task = |r: &str, contributor: i64, rate: &str| IngestItem {
            task_ref: r.into(),
            contributor_id: contributor,
            rate: rate.into(),
            ..item("2026-11-30T04:00:00Z")
        };
        let items = [
            task("a", 1, "0.50"),
            task(" ", 1, "0.50"),
            task("b", 2, "0.50"),
            task("a ", 1, "1.00"),
            task("c", 1, "x"),
            task("d", 1, "2.00"),
        ];
        let times = vec![at("2026-11-30T04:00:00"); items.len()];
        let Screened { results, accepted } = screen(&items, &times, &facts(), &mut |_, _| Ok(true)).unwrap();
        assert_eq!(accepted, [(0, Cents(150)), (5, Cents(600))]);
        let verdicts: Vec<Option<(ItemStatus, &str, Option<&str>)>> =
            results.iter().map(|r| r.as_ref().map(|r| (r.status, r.task_ref.as_str(), r.code))).collect();
        assert_eq!(
            verdicts,
            [
                None,
                Some((ItemStatus::Refused, "", Some("invalid_task_ref"))),
                Some((ItemStatus::Refused, "b", Some("unknown_contributor"))),
                Some((ItemStatus::Duplicate, "a", Some("repeated_in_batch"))),
                Some((ItemStatus::Refused, "c", Some("invalid_rate"))),
                None,
            ]
        );
        let unqualified = screen(&items[..1], &times[..1], &facts(), &mut |_, _| Ok(false)).unwrap();
        assert!(unqualified.accepted.is_empty(), "an unqualified contributor's item is not accepted");
    }

    #[test]
    fn completion_times_read_any_offset_as_utc() {
        let items = [item("2026-11-30T04:05:55Z"), item("2026-11-30T06:05:55+02:00")];
        assert_eq!(completion_times(&items), Ok(vec![at("2026-11-30T04:05:55"), at("2026-11-30T04:05:55")]));
    }

    #[test]
    fn completion_times_name_each_record_without_an_offset() {
        let items = [item("2026-11-30T04:05:55Z"), item("2026-11-30T04:05:55"), item("soon")];
        let errors = completion_times(&items).unwrap_err();
        let named: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        assert_eq!(named, [("records[1].completed_at", "offset_required"), ("records[2].completed_at", "date_time")]);
    }

    #[test]
    fn an_eligible_qualified_item_is_paid_rate_times_quantity() {
        assert_eq!(check(&item(""), "2026-11-30T04:00:00", &facts(), true), Ok(Cents(150)));
    }

    #[test]
    fn each_rule_refuses_with_its_code() {
        let f = facts();
        let with = |change: fn(&mut IngestItem)| {
            let mut i = item("");
            change(&mut i);
            i
        };
        let t = "2026-11-30T04:00:00";
        assert_eq!(check(&with(|i| i.task_ref = " ".into()), t, &f, true), Err("invalid_task_ref"));
        assert_eq!(check(&with(|i| i.contributor_id = 2), t, &f, true), Err("unknown_contributor"));
        // Before the work authorization was verified.
        assert_eq!(check(&item(""), "2026-01-15T00:00:00", &f, true), Err("work_authorization_not_verified"));
        assert_eq!(check(&with(|i| i.project_type_id = 8), t, &f, true), Err("unknown_project_type"));
        assert_eq!(check(&item(""), t, &f, false), Err("not_qualified"));
        assert_eq!(check(&with(|i| i.rate = "-1".into()), t, &f, true), Err("invalid_rate"));
        assert_eq!(check(&with(|i| i.quantity = "1.1234567".into()), t, &f, true), Err("invalid_quantity"));
        assert_eq!(check(&with(|i| i.quantity = "0".into()), t, &f, true), Err("invalid_quantity"));
        assert_eq!(check(&item(""), "2026-11-30T13:00:01", &f, true), Err("completed_in_future"));
        assert_eq!(check(&item(""), "2026-11-30T13:00:00", &f, true), Ok(Cents(150)));
    }

    #[test]
    fn a_standing_gate_reads_the_tier_held_when_the_work_was_done() {
        use crate::quality::rules::{StandingTier, TierEvent};
        let mut f = facts();
        f.projects.insert(7, (Vec::new(), Some(("audio".into(), StandingTier::Advanced))));
        f.tiers.insert(
            (1, "audio".into()),
            vec![TierEvent { at: at("2026-11-01T00:00:00"), tier: StandingTier::Advanced }],
        );
        assert_eq!(check(&item(""), "2026-10-31T00:00:00", &f, true), Err("standing_too_low"));
        assert_eq!(check(&item(""), "2026-11-02T00:00:00", &f, true), Ok(Cents(150)));
    }
}
