//! Which tasks a payout paid, and which payout paid a task (docs/ledger.md, "Which
//! tasks a payout paid"), without a row per task: each payout item records the range of
//! the contributor's credits to `available` it covers (cumulative cents, in entry
//! order, first in first out). A failed, returned or cancelled item gives its money back
//! as one `payout_failed` credit; a later item covering that credit covers, through it,
//! exactly the tasks of the item that failed.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::exports::Format;
use super::model::{BatchRow, DestinationKind, ItemRow, ItemStatus};
use crate::db::schema::{
    ledger_accounts, ledger_entries, ledger_transactions, payout_batches, payout_exports, payout_items, work_records,
};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::ledger::model::{AccountKind, TxKind};
use crate::AppState;

/// One credit to the contributor's `available` account, in entry order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub kind: TxKind,
    pub reference: String,
    pub cents: i64,
}

/// The range of credits an item covers; `reopened` once it failed, was returned or was
/// cancelled (its money is then a `payout_failed` credit again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cover {
    pub item_id: i64,
    pub from: i64,
    pub to: i64,
    pub reopened: bool,
}

/// Where part of a credit went: `item` the item paying it now (None: not in a payout,
/// or offset by a debit such as a clawback), `reopened_by` the items that covered it
/// before and failed or were returned, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portion {
    pub cents: i64,
    pub item: Option<i64>,
    pub reopened_by: Vec<i64>,
}

/// A credit (by index) and how many of its cents an item covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaf {
    pub credit: usize,
    pub cents: i64,
}

/// A contributor's credits with their cumulative starts, and their items' ranges.
#[derive(Debug, Default)]
pub struct Stream {
    pub credits: Vec<Credit>,
    starts: Vec<i64>,
    covers: Vec<Cover>,
    /// The `payout_failed` credit of each reopened item.
    refunds: HashMap<i64, usize>,
}

impl Stream {
    pub fn new(credits: Vec<Credit>, mut covers: Vec<Cover>) -> Self {
        let mut starts = Vec::with_capacity(credits.len());
        let mut at = 0;
        for c in &credits {
            starts.push(at);
            at += c.cents;
        }
        let refunds = credits
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == TxKind::PayoutFailed)
            .filter_map(|(i, c)| Some((c.reference.strip_prefix("payout_item:")?.parse().ok()?, i)))
            .collect();
        covers.sort_by_key(|c| (c.from, c.item_id));
        Self { credits, starts, covers, refunds }
    }

    fn range(&self, credit: usize) -> (i64, i64) {
        (self.starts[credit], self.starts[credit] + self.credits[credit].cents)
    }

    /// The credit posted under `kind` and `reference`.
    pub fn find(&self, kind: TxKind, reference: &str) -> Option<usize> {
        self.credits.iter().position(|c| c.kind == kind && c.reference == reference)
    }

    /// Where the cents of credit `credit` went.
    pub fn portions(&self, credit: usize) -> Vec<Portion> {
        let (a, b) = self.range(credit);
        let mut out = Vec::new();
        self.forward(a, b, &[], &mut out);
        out
    }

    fn forward(&self, a: i64, b: i64, chain: &[i64], out: &mut Vec<Portion>) {
        let mut at = a;
        for cover in self.covers.iter().filter(|c| c.from < b && c.to > a) {
            let (x, y) = (cover.from.max(a), cover.to.min(b));
            if x > at {
                out.push(Portion { cents: x - at, item: None, reopened_by: chain.to_vec() });
            }
            match (cover.reopened, self.refunds.get(&cover.item_id)) {
                (true, Some(&refund)) => {
                    let (s, _) = self.range(refund);
                    let mut next = chain.to_vec();
                    next.push(cover.item_id);
                    self.forward(s + (x - cover.from), s + (y - cover.from), &next, out);
                }
                (true, None) => {
                    out.push(Portion { cents: y - x, item: None, reopened_by: [chain, &[cover.item_id]].concat() })
                }
                (false, _) => {
                    out.push(Portion { cents: y - x, item: Some(cover.item_id), reopened_by: chain.to_vec() })
                }
            }
            at = at.max(y);
        }
        if b > at {
            out.push(Portion { cents: b - at, item: None, reopened_by: chain.to_vec() });
        }
    }

    /// The original credits (tasks, stipends, bonuses, adjustments) an item's range
    /// covers, through the refunds of earlier items, in order.
    pub fn leaves(&self, from: i64, to: i64) -> Vec<Leaf> {
        let mut out = Vec::new();
        self.backward(from, to, &mut out);
        out
    }

    fn backward(&self, from: i64, to: i64, out: &mut Vec<Leaf>) {
        for (i, c) in self.credits.iter().enumerate() {
            let (a, b) = self.range(i);
            if b <= from || a >= to || c.cents <= 0 {
                continue;
            }
            let (x, y) = (a.max(from), b.min(to));
            let refunded = (c.kind == TxKind::PayoutFailed)
                .then(|| c.reference.strip_prefix("payout_item:")?.parse::<i64>().ok())
                .flatten()
                .and_then(|id| self.covers.iter().find(|cv| cv.item_id == id));
            match refunded {
                Some(earlier) => self.backward(earlier.from + (x - a), earlier.from + (y - a), out),
                None => out.push(Leaf { credit: i, cents: y - x }),
            }
        }
    }
}

/// Loads a contributor's credits to `available` and their items' ranges.
pub fn load_stream(conn: &mut DbConn, user_id: i64) -> AppResult<Stream> {
    let credits: Vec<(TxKind, String, i64)> = ledger_entries::table
        .inner_join(ledger_transactions::table)
        .inner_join(ledger_accounts::table)
        .filter(ledger_accounts::owner_id.eq(user_id))
        .filter(ledger_accounts::kind.eq(AccountKind::Available))
        .filter(ledger_entries::amount_cents.gt(0))
        .order(ledger_entries::id.asc())
        .select((ledger_transactions::kind, ledger_transactions::reference, ledger_entries::amount_cents))
        .load(conn)?;
    let covers: Vec<(i64, ItemStatus, Option<i64>, Option<i64>)> = payout_items::table
        .filter(payout_items::contributor_id.eq(user_id))
        .select((
            payout_items::id,
            payout_items::status,
            payout_items::covers_from_cents,
            payout_items::covers_to_cents,
        ))
        .load(conn)?;
    Ok(Stream::new(
        credits.into_iter().map(|(kind, reference, cents)| Credit { kind, reference, cents }).collect(),
        covers
            .into_iter()
            .filter_map(|(item_id, status, from, to)| {
                let reopened = matches!(status, ItemStatus::Failed | ItemStatus::Returned | ItemStatus::Cancelled);
                Some(Cover { item_id, from: from?, to: to?, reopened })
            })
            .collect(),
    ))
}

/// A file of a batch that carries an item: its format, part and recorded hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportFile {
    pub format: Format,
    pub part: i32,
    pub sha256: String,
    pub byte_count: i64,
    #[serde(with = "crate::clock::utc")]
    pub exported_at: NaiveDateTime,
}

/// A payout item with its batch and the files that carry it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemLink {
    pub item_id: i64,
    pub contributor_id: i64,
    pub status: ItemStatus,
    pub rail: super::model::Rail,
    pub gross_cents: i64,
    pub net_cents: i64,
    pub rail_reference: Option<String>,
    pub reason: Option<String>,
    pub return_code: Option<String>,
    /// When finance recorded the result.
    #[serde(with = "crate::clock::utc_opt")]
    pub settled_at: Option<NaiveDateTime>,
    /// The date the rail paid (payer's time zone).
    pub paid_on: Option<NaiveDate>,
    #[serde(with = "crate::clock::utc_opt")]
    pub returned_at: Option<NaiveDateTime>,
    pub batch_id: i64,
    pub batch_status: super::model::BatchStatus,
    /// When the batch was built (the item reserved).
    #[serde(with = "crate::clock::utc")]
    pub in_batch_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub approved_at: Option<NaiveDateTime>,
    /// The batch's first export: the money sent.
    #[serde(with = "crate::clock::utc_opt")]
    pub sent_at: Option<NaiveDateTime>,
    pub files: Vec<ExportFile>,
}

/// The part of `format` that holds the item at `position` among the rail's items, or
/// for Wise among its template's (`rank`, with `email_items` email items before bank
/// parts).
fn part_of(st: &AppState, format: Format, position: i64, wise: Option<(bool, i64, i64)>) -> i64 {
    let cfg = &st.config.payouts;
    let part = |rank: i64, max: i64| (rank - 1) / max.max(1) + 1;
    match (format, wise) {
        (Format::Nacha, _) => 1,
        (Format::PaypalCsv, _) => part(position, cfg.paypal_csv_max_rows),
        (Format::PaypalJson, _) => part(position, cfg.paypal_api_max_items),
        (Format::WiseCsv, Some((true, rank, _))) => part(rank, cfg.wise_csv_max_rows),
        (Format::WiseCsv, Some((false, rank, email_items))) => {
            let email_parts =
                if email_items > 0 { super::exports::part_count(email_items, cfg.wise_csv_max_rows) } else { 0 };
            email_parts + part(rank, cfg.wise_csv_max_rows)
        }
        (Format::WiseCsv, None) => 1,
    }
}

fn formats_of(rail: super::model::Rail) -> &'static [Format] {
    use super::model::Rail;
    match rail {
        Rail::Ach => &[Format::Nacha],
        Rail::Paypal => &[Format::PaypalCsv, Format::PaypalJson],
        Rail::Wise => &[Format::WiseCsv],
    }
}

/// The item, its batch and the recorded files that carry it.
pub fn item_link(st: &AppState, conn: &mut DbConn, item_id: i64) -> AppResult<ItemLink> {
    let (item, batch, position, kind, rank): (ItemRow, BatchRow, i64, DestinationKind, i64) = payout_items::table
        .inner_join(payout_batches::table)
        .filter(payout_items::id.eq(item_id))
        .select((
            ItemRow::as_select(),
            BatchRow::as_select(),
            payout_items::rail_position,
            payout_items::destination_kind,
            payout_items::kind_position,
        ))
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let rail = item.rail();
    let wise = if rail == super::model::Rail::Wise {
        // Wise parts are per destination kind, email parts first: the item's rank among
        // its kind is its `kind_position`, and the email items are counted by the last.
        let email_items = super::exports::count_items(conn, item.batch_id, rail, Some(DestinationKind::Email))?;
        Some((kind == DestinationKind::Email, rank, email_items))
    } else {
        None
    };
    let mut files = Vec::new();
    for &format in formats_of(rail) {
        let part = part_of(st, format, position, wise) as i32;
        let row: Option<(String, i64, NaiveDateTime)> = payout_exports::table
            .filter(payout_exports::batch_id.eq(item.batch_id))
            .filter(payout_exports::format.eq(format))
            .filter(payout_exports::part.eq(part))
            .select((payout_exports::sha256, payout_exports::byte_count, payout_exports::exported_at))
            .first(conn)
            .optional()?;
        if let Some((sha256, byte_count, exported_at)) = row {
            files.push(ExportFile { format, part, sha256, byte_count, exported_at });
        }
    }
    let status = item.status();
    Ok(ItemLink {
        item_id: item.id,
        contributor_id: item.contributor_id,
        status,
        rail,
        gross_cents: item.gross_cents,
        net_cents: item.net_cents,
        rail_reference: item.rail_reference,
        reason: item.reason,
        return_code: item.return_code,
        settled_at: item.settled_at,
        paid_on: item.paid_on.filter(|_| status == ItemStatus::Paid),
        returned_at: item.returned_at,
        batch_id: batch.id,
        batch_status: batch.status(),
        in_batch_at: item.created_at,
        approved_at: batch.approved_at,
        sent_at: batch.exported_at.filter(|_| status != ItemStatus::Cancelled),
        files,
    })
}

/// A share of a task's pay and the item paying it now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskPortion {
    pub cents: i64,
    /// Null: not in a payout (available, or offset by a clawback or negative adjustment).
    pub item: Option<ItemLink>,
    /// Items that carried these cents before and failed, were returned or cancelled.
    pub reopened_by: Vec<i64>,
}

/// A task followed to the bank line that paid it (finance).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskTrace {
    pub work_record_id: i64,
    pub task_ref: String,
    pub contributor_id: i64,
    pub status: crate::work::model::WorkStatus,
    pub pay_cents: i64,
    #[serde(with = "crate::clock::utc")]
    pub completed_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub approved_at: Option<NaiveDateTime>,
    /// When the hold ended (or ends).
    #[serde(with = "crate::clock::utc_opt")]
    pub available_on: Option<NaiveDateTime>,
    /// Empty while the pay is held or the record not approved.
    pub portions: Vec<TaskPortion>,
}

pub fn trace_task(st: &AppState, task_ref: &str) -> AppResult<TaskTrace> {
    st.db.read_sync(|conn| {
        let r: crate::work::model::WorkRecordRow = work_records::table
            .filter(work_records::task_ref.eq(task_ref))
            .select(crate::work::model::WorkRecordRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let stream = load_stream(conn, r.contributor_id)?;
        let mut portions = Vec::new();
        if let Some(credit) = stream.find(TxKind::HoldReleased, &format!("work_record:{}", r.id)) {
            for p in stream.portions(credit) {
                let item = p.item.map(|id| item_link(st, conn, id)).transpose()?;
                portions.push(TaskPortion { cents: p.cents, item, reopened_by: p.reopened_by });
            }
        }
        Ok(TaskTrace {
            work_record_id: r.id,
            task_ref: r.task_ref,
            contributor_id: r.contributor_id,
            status: r.status,
            pay_cents: r.pay_cents,
            completed_at: r.completed_at,
            approved_at: r.approved_at,
            available_on: r.hold_until,
            portions,
        })
    })
}

/// One credit an item pays, or the part of it the item pays.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CoveredLine {
    /// `hold_released` (a task), `test_stipend`, `bonus`, `adjustment` or `payout_failed`.
    pub kind: TxKind,
    pub reference: String,
    pub work_record_id: Option<i64>,
    pub task_ref: Option<String>,
    /// What this item pays of it.
    pub cents: i64,
    /// The whole credit.
    pub credit_cents: i64,
    /// Part of the credit is paid by another item (or offset).
    pub partial: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemTasks {
    pub item: ItemLink,
    pub lines: Vec<CoveredLine>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// The tasks (and other credits) an item pays, a page at a time: `cursor` is the
/// number of lines already read.
pub fn item_tasks(st: &AppState, item_id: i64, cursor: Option<i64>, limit: Option<i64>) -> AppResult<ItemTasks> {
    st.db.read_sync(|conn| {
        let item = item_link(st, conn, item_id)?;
        let range: (Option<i64>, Option<i64>) = payout_items::table
            .find(item_id)
            .select((payout_items::covers_from_cents, payout_items::covers_to_cents))
            .first(conn)?;
        let (Some(from), Some(to)) = range else {
            return Ok(ItemTasks { item, lines: Vec::new(), next_cursor: None });
        };
        let stream = load_stream(conn, item.contributor_id)?;
        let leaves = stream.leaves(from, to);
        let skip = cursor.unwrap_or(0).max(0) as usize;
        let limit = crate::db::page_limit(limit) as usize;
        let page: Vec<Leaf> = leaves.iter().skip(skip).take(limit).copied().collect();
        let record_ids: Vec<i64> = page
            .iter()
            .filter_map(|l| {
                let c = &stream.credits[l.credit];
                (c.kind == TxKind::HoldReleased)
                    .then(|| c.reference.strip_prefix("work_record:")?.parse().ok())
                    .flatten()
            })
            .collect();
        let refs: HashMap<i64, String> = work_records::table
            .filter(work_records::id.eq_any(&record_ids))
            .select((work_records::id, work_records::task_ref))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        let lines = page
            .iter()
            .map(|l| {
                let c = &stream.credits[l.credit];
                let work_record_id = (c.kind == TxKind::HoldReleased)
                    .then(|| c.reference.strip_prefix("work_record:")?.parse::<i64>().ok())
                    .flatten();
                CoveredLine {
                    kind: c.kind,
                    reference: c.reference.clone(),
                    work_record_id,
                    task_ref: work_record_id.and_then(|id| refs.get(&id).cloned()),
                    cents: l.cents,
                    credit_cents: c.cents,
                    partial: l.cents < c.cents,
                }
            })
            .collect();
        let next = skip + page.len();
        Ok(ItemTasks { item, lines, next_cursor: (next < leaves.len()).then_some(next as i64) })
    })
}

/// How far a task's pay has gone towards the contributor, by its portions in payout
/// items (docs/ledger.md, "Which tasks a payout paid").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// In no payout item (yet, or again after a failure).
    #[default]
    NotPaid,
    InBatch,
    Sent,
    PartiallyPaid,
    Paid,
}

/// The payout stages of each of a contributor's tasks, for `GET /me/earnings`.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct TaskPayment {
    /// The item paying (the last, when the pay is split over several).
    pub payout_item_id: Option<i64>,
    pub batch_id: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub in_batch_at: Option<NaiveDateTime>,
    #[serde(with = "crate::clock::utc_opt")]
    pub sent_at: Option<NaiveDateTime>,
    pub rail_reference: Option<String>,
    #[serde(with = "crate::clock::utc_opt")]
    pub settled_at: Option<NaiveDateTime>,
    pub paid_on: Option<NaiveDate>,
    /// Cents of the task in an item settled as paid.
    pub paid_cents: i64,
    /// Cents of the task in an item not settled yet.
    pub in_payout_cents: i64,
    pub payment_status: PaymentStatus,
    /// Items that carried this task and failed, were returned or cancelled.
    pub reopened_by: Vec<i64>,
}

/// The payment of each work record of `records` whose pay reached `available`.
pub fn task_payments(
    st: &AppState,
    conn: &mut DbConn,
    user_id: i64,
    records: &[(i64, i64)],
) -> AppResult<HashMap<i64, TaskPayment>> {
    let stream = load_stream(conn, user_id)?;
    let mut links: HashMap<i64, ItemLink> = HashMap::new();
    let mut out = HashMap::new();
    for &(record_id, pay_cents) in records {
        let Some(credit) = stream.find(TxKind::HoldReleased, &format!("work_record:{record_id}")) else { continue };
        let mut t = TaskPayment::default();
        for p in stream.portions(credit) {
            for id in &p.reopened_by {
                if !t.reopened_by.contains(id) {
                    t.reopened_by.push(*id);
                }
            }
            let Some(item_id) = p.item else { continue };
            let link = match links.entry(item_id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(item_link(st, conn, item_id)?),
            };
            if link.status == ItemStatus::Paid {
                t.paid_cents += p.cents;
            } else {
                t.in_payout_cents += p.cents;
            }
            if t.payout_item_id.is_none_or(|cur| item_id > cur) {
                t.payout_item_id = Some(item_id);
                t.batch_id = Some(link.batch_id);
                t.in_batch_at = Some(link.in_batch_at);
                t.sent_at = link.sent_at;
                t.rail_reference = link.rail_reference.clone();
                t.settled_at = link.settled_at.filter(|_| link.status == ItemStatus::Paid);
                t.paid_on = link.paid_on;
            }
        }
        t.payment_status = if t.paid_cents >= pay_cents {
            PaymentStatus::Paid
        } else if t.paid_cents > 0 {
            PaymentStatus::PartiallyPaid
        } else if t.in_payout_cents > 0 && t.sent_at.is_some() {
            PaymentStatus::Sent
        } else if t.in_payout_cents > 0 {
            PaymentStatus::InBatch
        } else {
            PaymentStatus::NotPaid
        };
        out.insert(record_id, t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: i64, cents: i64) -> Credit {
        Credit { kind: TxKind::HoldReleased, reference: format!("work_record:{id}"), cents }
    }
    fn refund(item: i64, cents: i64) -> Credit {
        Credit { kind: TxKind::PayoutFailed, reference: format!("payout_item:{item}"), cents }
    }

    #[test]
    fn an_item_covers_the_oldest_credits_and_splits_a_task_it_pays_in_part() {
        // Tasks of 100, 250 and 50; a clawback of 30 then an item paying the 370 left.
        let s = Stream::new(
            vec![task(1, 100), task(2, 250), task(3, 50)],
            vec![Cover { item_id: 7, from: 30, to: 400, reopened: false }],
        );
        assert_eq!(
            s.portions(0),
            vec![
                Portion { cents: 30, item: None, reopened_by: vec![] },
                Portion { cents: 70, item: Some(7), reopened_by: vec![] }
            ]
        );
        assert_eq!(s.portions(1), vec![Portion { cents: 250, item: Some(7), reopened_by: vec![] }]);
        assert_eq!(
            s.leaves(30, 400),
            vec![Leaf { credit: 0, cents: 70 }, Leaf { credit: 1, cents: 250 }, Leaf { credit: 2, cents: 50 }]
        );
    }

    #[test]
    fn a_returned_item_reopens_exactly_its_tasks_and_the_next_item_pays_them() {
        // Item 7 paid tasks 1 and 2 (300) and was returned: its 300 came back as a refund
        // after task 3 (40). Item 8 then paid everything available: the refund and task 3.
        let s = Stream::new(
            vec![task(1, 100), task(2, 200), task(3, 40), refund(7, 300)],
            vec![
                Cover { item_id: 7, from: 0, to: 300, reopened: true },
                Cover { item_id: 8, from: 300, to: 640, reopened: false },
            ],
        );
        assert_eq!(s.portions(0), vec![Portion { cents: 100, item: Some(8), reopened_by: vec![7] }]);
        assert_eq!(s.portions(2), vec![Portion { cents: 40, item: Some(8), reopened_by: vec![] }]);
        assert_eq!(
            s.leaves(300, 640),
            vec![Leaf { credit: 2, cents: 40 }, Leaf { credit: 0, cents: 100 }, Leaf { credit: 1, cents: 200 }]
        );
        // Before item 8: the tasks of item 7 are open again, task 3 was never in a batch.
        let before = Stream::new(
            vec![task(1, 100), task(2, 200), task(3, 40), refund(7, 300)],
            vec![Cover { item_id: 7, from: 0, to: 300, reopened: true }],
        );
        assert_eq!(before.portions(1), vec![Portion { cents: 200, item: None, reopened_by: vec![7] }]);
        assert_eq!(before.portions(2), vec![Portion { cents: 40, item: None, reopened_by: vec![] }]);
    }

    #[test]
    fn a_refund_paid_in_two_items_splits_its_tasks_between_them() {
        let s = Stream::new(
            vec![task(1, 100), task(2, 100), refund(7, 200)],
            vec![
                Cover { item_id: 7, from: 0, to: 200, reopened: true },
                Cover { item_id: 8, from: 200, to: 350, reopened: false },
                Cover { item_id: 9, from: 350, to: 400, reopened: false },
            ],
        );
        assert_eq!(
            s.portions(1),
            vec![
                Portion { cents: 50, item: Some(8), reopened_by: vec![7] },
                Portion { cents: 50, item: Some(9), reopened_by: vec![7] }
            ]
        );
        assert_eq!(s.leaves(350, 400), vec![Leaf { credit: 1, cents: 50 }]);
    }
}
